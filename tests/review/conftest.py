from tests.api.conftest import api  # noqa: F401
from tests.console.conftest import console  # noqa: F401
