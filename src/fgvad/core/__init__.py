"""The ground floor: errors, file helpers, text-script detection, constants and the dataset registry.

Nothing here imports torch, transformers or any other fgvad package; every other layer may
import from here.
"""
