"""Institutions: the rules of the district that route work and judge it.

* :mod:`.admin`      — administrative tasks pushed down, campaign pulses, crowding-out
* :mod:`.queues`     — serving a queue of work with limited hours (vectorised)
* :mod:`.intake`     — residents raise items; communities triage and work them
* :mod:`.street`     — the street handles, outsources, assigns, or pushes items down
* :mod:`.conference` — the joint conference assigns; assignees act or pass the buck
* :mod:`.evaluation` — effort split between form and substance, and the evaluation score
"""
