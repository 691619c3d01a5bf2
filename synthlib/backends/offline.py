"""The offline provider (local lexical sources); its backend arrives with the engine."""

OFFLINE_MODEL = "offline-wordnet3.0-cmudict"
