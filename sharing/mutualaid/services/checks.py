"""What every mutual-aid write (inventories, requests, reimbursements) needs beyond the input
itself: the cluster a jurisdiction belongs to, where a write's event is routed. The input checks
(quantities, resource types and units, places, contacts, text) are the contract's
(sharing.mutualaid.contract), which the API and the UI read too; the caller's permission is
coordination.principals.require, as for every service.
"""

from coordination.authentication import clusters_of


def _cluster_of(code: str) -> str:
    clusters = clusters_of(code)
    return clusters[0] if clusters else ""
