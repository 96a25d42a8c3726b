"""Language models: chat backends behind one small interface, and the LLM-for-recommendation paradigms."""
