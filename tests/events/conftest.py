from tests.api.conftest import api  # noqa: F401 - the API fixture, for the feed and webhook stories
