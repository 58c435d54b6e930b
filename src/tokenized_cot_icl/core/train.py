"""Training entry point (the README's launch command)::

    torchrun --nnodes=$NUM_NODES --nproc-per-node=$LOCAL_WORLD_SIZE -m tokenized_cot_icl.core.train --task_card_key 0

``--task_card NAME|PATH`` picks a card from ``task_cards/`` (default: ``TASK_CARD`` of
``tokenized_cot_icl.core.task_card``). Without torchrun it runs as a single process. Re-running
the same command resumes from the newest complete checkpoint.
"""

from __future__ import annotations

import sys

from tokenized_cot_icl.cli.training import build_train_parser, run_train_command
from tokenized_cot_icl.foundation.command_line import CommandParser


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(prog="python -m tokenized_cot_icl.core.train", description=__doc__.split("::")[0])
    build_train_parser(parser)
    return run_train_command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
