"""Public contract modules: args, data, models, task_card, train."""
