"""A/B tests of one email: 2-4 variants with a traffic split, decided by purchases credited through the signed
link, never by opens."""
