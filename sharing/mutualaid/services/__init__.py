"""Writes of mutual aid, one module per concern: `inventories` (stock records, the CSV import,
corrections, and the ledger), `requests` (a request made, widened, cancelled, wound up with its
incident), `offers` (offers, their acceptance, the commitments' moves to their return),
`reimbursements` (a commitment's costs), and `checks`
(a jurisdiction's cluster, which they all need). Their input checks are the contract's
(sharing.mutualaid.contract). Callers import from the module they need; nothing is
re-exported here, so each function has one name.
"""
