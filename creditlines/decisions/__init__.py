"""Credit decisions (SPEC §12): four eyes on base limits, vendor nominations the distributor
decides, and insurer cover with the cap it puts on base limits.

* ``policy``: a distributor's ``approval_threshold`` and ``base_cap_policy``;
* ``limit_requests``: raises above the threshold wait for a second officer key;
* ``nominations``: enrolments where the partnership ``requires_approval``;
* ``insurance``: the cover history and the cut it brings under ``cover_plus_discretionary``;
* ``reports``: the cover-cuts listing;
* ``journal``: the one call into the ledger's entry writer.
"""
