"""``python -m agentfetch`` and the ``agentfetch`` console script."""

from __future__ import annotations


def main() -> None:
    from .cli import run

    run()


if __name__ == "__main__":
    main()
