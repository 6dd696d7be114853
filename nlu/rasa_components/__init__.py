"""Custom Rasa graph components. Only ``sudachi_tokenizer`` imports rasa; ``textfold`` is pure Python and shared
with the bot-side fallback classifier and the crisis layer so that both sides fold text the same way."""
