"""Transit Watch: Telegram alerts about extraditions and deportations from transit countries.

Nothing happens at import time: the composition root is `bot.app.main()`, reached through
`python -m bot run`; the CLI lives in `bot.__main__`.
"""
