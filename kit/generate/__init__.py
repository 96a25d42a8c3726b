"""Generated product copy, checked against the catalog's own labels before anyone reads it.

:mod:`kit.generate.facts` turns an item into the facts a writer may state; :mod:`kit.generate.checker` finds
every fact a text states (colour, article type, gender, usage, season, material, size) and compares it with
the labels; :mod:`kit.generate.writers` has a template writer (the floor) and an LLM writer whose sentences
that fail the check are rewritten once and then dropped. Every text carries a "generated" label.
"""

from kit.generate.checker import FACT_TYPES, Claim, FactChecker, FactType
from kit.generate.facts import ItemFacts
from kit.generate.writers import (TONES, WRITERS, CopyReport, GeneratedCopy, LLMWriter, TemplateWriter,
                                  write_copy)

__all__ = ["FACT_TYPES", "TONES", "WRITERS", "Claim", "CopyReport", "FactChecker", "FactType", "GeneratedCopy",
           "ItemFacts", "LLMWriter", "TemplateWriter", "write_copy"]
