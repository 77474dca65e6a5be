"""Who bears the loss (SPEC §20, §21): defaults, write-offs by funder, claims, funder statements.

* :mod:`creditlines.losses.defaults` — a reseller declared in default (terminated and marked);
* :mod:`creditlines.losses.writeoffs` — every outstanding allocation written off through the one
  journal writer, the loss split by funder, the insured part of the base line;
* :mod:`creditlines.losses.claims` — claims on vendors, financiers and insurers, and settlement;
* :mod:`creditlines.losses.statements` — a funder's monthly statement with its digest chain.
"""
