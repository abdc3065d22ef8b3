"""Manager and finance dashboards (DOMAIN §7), composed from the apps' read-only metrics.

Depends on accounts, leads, followups and receivables; none of them imports this package.
"""
