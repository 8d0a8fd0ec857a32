"""The cold-start floors: minimal handlers of each kind with the features every Pollen function has.

``make bench`` (:mod:`infra.cold_start`) imports each Pollen function and its kind's floor as fresh
processes, alternating, and holds every function to 1.10x its floor.
"""
