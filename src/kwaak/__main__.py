"""``python -m kwaak``: the same as the ``kwaak`` command."""

from kwaak.cli import main

if __name__ == "__main__":
    main()
