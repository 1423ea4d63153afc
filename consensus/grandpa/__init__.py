"""GRANDPA finality (Stewart & Kokoris-Kogia), sans-I/O: feed events, get actions; integers only.

``voter_set`` (weights and the > 2/3 threshold), ``chain`` (what the voter asks of the block tree),
``vote_graph`` (cumulative votes and GHOST), ``round`` (one round's prevotes/precommits, estimate,
completability), ``justification`` (commits and their verification), ``voter`` (the round state
machine with its timers and slashing protection), ``errors``. See docs/consensus.md, "Finality (GRANDPA)".
"""
