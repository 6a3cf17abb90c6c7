"""`make demo`: the main job end to end, for a newcomer's first command."""

from __future__ import annotations


def main() -> None:
    print("meterpipe demo: the pipeline is being built; see README.md for what works today.")


if __name__ == "__main__":
    main()
