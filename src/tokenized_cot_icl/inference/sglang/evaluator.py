"""Answer-token accuracy of a checkpoint with the SGLang backend.

    cd src && python tokenized_cot_icl/inference/sglang/evaluator.py --model_base_dir RUN_DIR --checkpoint final
    python -m tokenized_cot_icl.inference.sglang.evaluator --model_base_dir RUN_DIR --checkpoint 1000

The logic lives in :mod:`tokenized_cot_icl.inference.evaluate_cli`; ``--help`` lists every flag.
"""

if __name__ == "__main__":  # the guard matters: engines start worker processes that re-import this file
    import sys
    from pathlib import Path

    try:
        import tokenized_cot_icl  # noqa: F401
    except ModuleNotFoundError:  # run as a file from src/ without the package installed
        sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tokenized_cot_icl.inference.evaluate_cli import main

    raise SystemExit(main(backend="sglang", prog="sglang/evaluator.py"))
