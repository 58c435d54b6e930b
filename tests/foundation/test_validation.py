"""Bad configurations fail at ``Args(...)`` naming the field and what is allowed."""

import json

import pytest

from tests.helpers import README_ARGS, tiny_args
from tokenized_cot_icl.foundation.config import Args

HYBRID = dict(prompt_strategy="hybrid_special_token", enable_special_tokens=True)


@pytest.mark.parametrize(
    "kwargs, field, allowed",
    [
        (dict(activation="lekay_relu"), "activation", "did you mean 'leaky_relu'"),
        (dict(dag_strategy="randm"), "dag_strategy", "random"),
        (dict(prompt_strategy="cott"), "prompt_strategy", "cot_special_token"),
        (dict(metric_logger="wandb"), "metric_logger", "mlflow"),
        (dict(n_inputs=2, n_parents=3), "n_parents", "<= n_inputs"),
        (dict(n_inputs=0), "n_inputs", "positive"),
        (dict(chain_length=(2, -1)), "chain_length", "positive"),
        (dict(n_examples=()), "n_examples", "non-empty list of ints"),
        (dict(n_examples=2.5), "n_examples", "whole number"),
        (dict(vocab_size=1), "vocab_size", ">= 2"),
        (
            dict(vocab_size=10, **HYBRID, cot_example_prob_recipe_info={"type": "constant", "prob": 1}),
            "vocab_size",
            "9 reserved",
        ),
        (dict(n_dims=-1), "n_dims", "positive"),
        (dict(prompt_strategy="cot_special_token"), "enable_special_tokens", "needs"),
        (
            dict(prompt_strategy="cot", enable_special_tokens=True),
            "enable_special_tokens",
            "special-token prompt_strategy",
        ),
        (dict(prompt_strategy="standard", enable_cot=True), "enable_cot", "contradicts"),
        (dict(prompt_strategy="cot", enable_cot=False), "enable_cot", "contradicts"),
        (dict(num_unique_H=4), "num_unique_H", "ablation_fixed_H"),
        (dict(ablation_fixed_H=True, num_unique_H=0), "num_unique_H", "positive"),
        (dict(**HYBRID), "cot_example_prob_recipe_info", "needs"),
        (dict(**HYBRID, cot_example_prob_recipe_info={"type": "cubic"}), "cot_example_prob_recipe_info", "power_law"),
        (dict(**HYBRID, cot_example_prob_recipe_info={"type": "constant", "prob": 1.5}), "prob", "[0, 1]"),
        (
            dict(**HYBRID, cot_example_prob_recipe_info={"type": "power_law", "alpha": 1, "final_prob": -0.1}),
            "final_prob",
            "[0, 1]",
        ),
        (dict(**HYBRID, cot_example_prob_recipe_info={"type": "power_law"}), "alpha", "needs"),
        (dict(**HYBRID, cot_example_prob_recipe_info={"type": "constant", "prob": 0.5, "x": 1}), "'x'", "allowed"),
        (dict(precision="fp8"), "precision", "bf16"),
        (dict(hidden_size=100, num_attention_heads=3), "hidden_size", "divisible"),
        (dict(lr=0), "lr", "positive"),
        (dict(run_name="a/b"), "run_name", "one directory name"),
    ],
)
def test_bad_configuration_names_field_and_allowed_values(kwargs, field, allowed):
    with pytest.raises(ValueError) as err:
        Args(**kwargs)
    assert field in str(err.value)
    assert allowed in str(err.value)


def test_readme_args_run_verbatim():
    args = Args(**README_ARGS)
    assert args.enable_cot is True and args.n_parents == 2


def test_parents_above_inputs_are_capped_only_when_asked():
    with pytest.raises(ValueError, match=r"n_parents \(4\) must be <= n_inputs \(\(2, 6\)\).*cap_parents_to_inputs"):
        Args(n_inputs=(2, 6), n_parents=4)
    assert Args(n_inputs=(2, 6), n_parents=4, cap_parents_to_inputs=True).n_parents == 4  # min(M, N) per prompt


def test_throughput_fields_are_checked_and_written_only_when_set():
    assert "data_device" not in Args().to_dict() and "compile_model" not in Args().to_dict()  # old run names hold
    args = Args(data_device="auto", compile_model=True)
    assert Args.from_dict(args.to_dict()) == args and args.to_dict()["data_device"] == "auto"
    with pytest.raises(ValueError, match=r"data_device must be one of \['auto', 'cpu', 'cuda'\]"):
        Args(data_device="gpu")
    with pytest.raises(ValueError, match="compile_model must be true or false"):
        Args(compile_model="yes")


# Names that would put a run directory elsewhere than output_base_dir/<name>, or not be one name.
BAD_RUN_NAMES = ["a\nb", "../escaped", "{tmp}/absolute", "..", "x/y", "a\\b"]


def _train_cli(tmp_path, capsys, name: str, route: str) -> str:
    from tokenized_cot_icl.cli import main

    args = tiny_args(output_base_dir=str(tmp_path / "runs"), num_epochs=1, batch_size=8, eval_batch_size=8)
    fields = args.to_dict()
    if route == "card":
        fields["run_name"] = name
    card = tmp_path / "card.toml"
    card.write_text("[base]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items() if v is not None))
    extra = {"flag": ["--run-name", name], "set": ["--set", f"run_name={json.dumps(name)}"], "card": []}[route]
    assert main(["train", "--task-card", str(card), *extra]) == 2
    return capsys.readouterr().err


def _train_api(tmp_path, name: str, route: str) -> str:
    from tokenized_cot_icl.foundation.run_dir import RunDir
    from tokenized_cot_icl.training.trainer import Trainer

    args = tiny_args(output_base_dir=str(tmp_path / "runs"), num_epochs=1, batch_size=8, eval_batch_size=8)
    with pytest.raises(ValueError) as err:
        {"Trainer": lambda: Trainer(args, run_name=name).train(), "RunDir.for_args": lambda: RunDir.for_args(args, name),
         "Args": lambda: args.replace(run_name=name)}[route]()  # fmt: skip
    return str(err.value)


@pytest.mark.parametrize("route", ["flag", "set", "card", "Trainer", "RunDir.for_args", "Args"])
def test_every_route_to_a_run_directory_checks_its_name_with_one_rule(route, tmp_path, capsys):
    for name in [n.format(tmp=tmp_path) for n in BAD_RUN_NAMES]:
        if route in ("flag", "set", "card"):
            message = _train_cli(tmp_path, capsys, name, route)
        else:
            message = _train_api(tmp_path, name, route)
        field = "--run-name" if route == "flag" else "run_name"
        assert f"{field} must be one directory name: printable characters, no '/' or backslash" in message
        assert repr(name) in message
        assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["card.toml"])  # nothing written anywhere
