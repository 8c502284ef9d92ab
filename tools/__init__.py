"""Tools: channel specs and validators, retrieval store, post-processing, text utilities.

Import direction: prompts <- tools <- agents <- graph <- copyloop (front door).
"""
