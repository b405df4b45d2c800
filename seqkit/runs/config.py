"""A run's settings: one frozen dataclass whose fields become the command-line flags.

Each field is declared once with ``runs.field``::

    hidden_size: int = runs.field(200, "Units per layer.", lower=1)
    cell: str = runs.field("lstm", "Recurrent cell.", choices=("lstm", "gru"))
    epochs: int = runs.field(13, "Training epochs.", lower=1, resumable=True)

and ``define_flags`` turns the fields into absl flags of the field's type
(``bool``, ``int``, ``float``, ``str``, ``str`` with ``choices`` → enum,
``tuple[str, ...]`` / ``tuple[int, ...]`` → a comma-separated list), with the
help text, the enum values and the bounds. One validator per field
(``check_field``) serves both the flags (absl validators, at parse time) and
``runs.run`` (which checks a Config built in code), so a flag and a config
field can never disagree about what is valid. Floats must be finite.

Bounds: ``lower``/``upper`` are inclusive, ``above``/``below`` exclusive
(``learning_rate > 0`` is ``above=0``).

``resumable=True`` marks a setting that may change when a run resumes in the
same train dir (more ``epochs``, another ``strategy``, an export dir); any
other change is refused, since the checkpoint holds another model or was
trained on other data.
"""

import dataclasses
import math
import typing

from seqkit.runs.errors import UsageError

STRATEGIES = ("default", "mirrored", "multi_worker")
# Keras mixed-precision policies a run may train under (``--precision``).
PRECISIONS = ("float32", "mixed_bfloat16")


def field(default, help, *, choices=None, lower=None, upper=None, above=None, below=None,
          check=None, resumable=False):
    """A Config field with what its flag needs (see the module docstring).

    Args:
        default: the value when neither the preset nor a flag sets it.
        help: the flag's help text (one sentence).
        choices: the allowed values of a ``str`` field (its flag is an enum).
        lower, upper: inclusive bounds of a number.
        above, below: exclusive bounds of a number.
        check: a further test of a value, ``check(value) -> None`` when valid,
            else the problem ("expected ..., got ..."); e.g. ``runs.text_encoding``.
        resumable: the setting may change when a run resumes.
    """
    if isinstance(default, list):
        default = tuple(default)
    metadata = dict(help=help, choices=tuple(choices) if choices else None, lower=lower,
                    upper=upper, above=above, below=below, check=check,
                    resumable=resumable)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The settings every experiment has; an experiment's Config subclasses it.

    Subclasses are ``@dataclasses.dataclass(frozen=True)`` too.
    """

    epochs: int = field(1, "Training epochs (rerun with more to continue a finished run).",
                        lower=1, resumable=True)
    seed: int = field(0, "Seed of initialization, dropout, shuffling and sampling.", lower=0)
    strategy: str = field("default", "tf.distribute strategy (see README, 'Distributed "
                          "training').", choices=STRATEGIES, resumable=True)
    num_cpu_devices: int = field(0, "Split the CPU into this many logical devices "
                                 "(--strategy=mirrored on a CPU-only machine); 0 = no split.",
                                 lower=0, resumable=True)
    progress: bool = field(True, "A progress bar on a terminal (one line per epoch when the "
                           "output is not a terminal).", resumable=True)
    # Resumable: the variables are float32 under either policy, so a checkpoint
    # written under one restores under the other.
    precision: str = field("float32", "Keras mixed-precision policy: float32, or "
                           "mixed_bfloat16 (bfloat16 compute; float32 variables, loss and "
                           "gradient clipping).", choices=PRECISIONS, resumable=True)

    def replace(self, **changes):
        """A copy with ``changes``; unknown names are a ``UsageError``."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise UsageError(f"unknown setting(s) {unknown} for {type(self).__name__}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The fields as a JSON-able dict (tuples become lists)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}


# ---------------------------------------------------------------- field specs


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a field's flag and validator need: name, kind, bounds, choices."""

    name: str
    kind: type          # bool, int, float, str or tuple
    item: type          # element type of a tuple field (else ``kind``)
    default: object
    help: str
    choices: tuple = None
    lower: float = None
    upper: float = None
    above: float = None
    below: float = None
    check: object = None
    resumable: bool = False


def specs(config_class):
    """The ``Spec`` of every field of ``config_class``, in declaration order."""
    hints = typing.get_type_hints(config_class)
    out = []
    for f in dataclasses.fields(config_class):
        kind, item = hints[f.name], None
        if typing.get_origin(kind) in (tuple, typing.Tuple):
            item, kind = typing.get_args(kind)[0], tuple
        if kind not in (bool, int, float, str, tuple) or item not in (None, str, int, float):
            raise TypeError(f"{config_class.__name__}.{f.name}: a Config field is bool, int, "
                            f"float, str or tuple[str|int|float, ...], got {hints[f.name]}")
        meta = dict(f.metadata)
        out.append(Spec(name=f.name, kind=kind, item=item or kind, default=f.default,
                        help=meta.get("help", ""), choices=meta.get("choices"),
                        lower=meta.get("lower"), upper=meta.get("upper"),
                        above=meta.get("above"), below=meta.get("below"),
                        check=meta.get("check"), resumable=meta.get("resumable", False)))
    return out


def _expected_number(spec):
    kind = "an integer" if spec.item is int else "a finite number"
    bounds = [f">= {spec.lower}" if spec.lower is not None else None,
              f"> {spec.above}" if spec.above is not None else None,
              f"<= {spec.upper}" if spec.upper is not None else None,
              f"< {spec.below}" if spec.below is not None else None]
    bounds = [b for b in bounds if b]
    return kind + (" " + " and ".join(bounds) if bounds else "")


def _problem(spec, value):
    """Why ``value`` is not valid for ``spec`` ("expected ..., got ..."), or None."""
    if spec.item is bool:
        ok = isinstance(value, bool)
        return None if ok else f"expected true or false, got {value!r}"
    if spec.item in (int, float):
        number = isinstance(value, int) if spec.item is int else isinstance(value, (int, float))
        if isinstance(value, bool) or not number or (
                spec.item is float and not math.isfinite(value)):
            return f"expected {_expected_number(spec)}, got {value!r}"
        if ((spec.lower is not None and value < spec.lower)
                or (spec.upper is not None and value > spec.upper)
                or (spec.above is not None and not value > spec.above)
                or (spec.below is not None and not value < spec.below)):
            return f"expected {_expected_number(spec)}, got {value!r}"
        return None
    if not isinstance(value, str):
        return f"expected a string, got {value!r}"
    if spec.choices and value not in spec.choices:
        return f"expected one of {list(spec.choices)}, got {value!r}"
    return None


def text_encoding(value):
    """``check`` of an ``--encoding`` field: a codec Python knows.

    Example:
        >>> text_encoding("latin-1") is None, text_encoding("utf-9")
        (True, "expected a text encoding Python knows (utf-8, latin-1, cp1252, ...), got 'utf-9'")
    """
    import codecs

    try:
        codecs.lookup(value)
    except LookupError:
        return (f"expected a text encoding Python knows (utf-8, latin-1, cp1252, ...), "
                f"got {value!r}")
    return None


def check_field(spec, value):
    """Raise ``UsageError("--name: expected ..., got ...")`` if ``value`` is not valid."""
    values = value if spec.kind is tuple else (value,)
    if spec.kind is tuple and not isinstance(value, tuple):
        raise UsageError(f"--{spec.name}: expected a list, got {value!r}")
    for item in values:
        problem = _problem(spec, item)
        if not problem and spec.check is not None:
            problem = spec.check(item)
        if problem:
            raise UsageError(f"--{spec.name}: {problem}")


def check_config(config):
    """Check every field of ``config`` against its declaration (see ``check_field``)."""
    for spec in specs(type(config)):
        check_field(spec, getattr(config, spec.name))
    return config


# ---------------------------------------------------------------- absl flags


def define_flags(config_class, flag_values, preset_names, default_preset_help,
                 module_name=None):
    """Define ``--config`` and one flag per field of ``config_class`` on ``flag_values``.

    Every field flag defaults to None ("the preset's value"); the help text
    shows the Config's own default. ``module_name`` groups them in ``--help``.
    """
    from absl import flags

    if module_name:  # absl groups --help by the defining module
        flags = _Flags(module_name)

    presets = sorted(preset_names)

    def check_preset(name):
        if name is not None and name not in presets:
            raise flags.ValidationError(f"expected one of {presets}, got {name!r}")
        return True

    flags.DEFINE_string("config", None, f"Preset: {'|'.join(presets)}. {default_preset_help} "
                        "Every flag below overrides the preset's value.",
                        flag_values=flag_values)
    flags.register_validator("config", check_preset, flag_values=flag_values)
    for spec in specs(config_class):
        default = spec.default
        shown = ",".join(map(str, default)) if spec.kind is tuple else default
        help_text = f"{spec.help} [default: {shown!r}]"
        if spec.kind is bool:
            flags.DEFINE_bool(spec.name, None, help_text, flag_values=flag_values)
        elif spec.kind is tuple:
            flags.DEFINE_list(spec.name, None, help_text, flag_values=flag_values)
        elif spec.kind is int:
            flags.DEFINE_integer(spec.name, None, help_text, flag_values=flag_values,
                                 lower_bound=spec.lower, upper_bound=spec.upper)
        elif spec.kind is float:
            flags.DEFINE_float(spec.name, None, help_text, flag_values=flag_values,
                               lower_bound=spec.lower, upper_bound=spec.upper)
        elif spec.choices:
            flags.DEFINE_enum(spec.name, None, list(spec.choices), help_text,
                              flag_values=flag_values)
        else:
            flags.DEFINE_string(spec.name, None, help_text, flag_values=flag_values)
        flags.register_validator(spec.name, _validator(spec), flag_values=flag_values)


class _Flags:
    """absl.flags with ``module_name`` preset on every DEFINE_* (for --help)."""

    def __init__(self, module_name):
        from absl import flags

        self._flags, self._module_name = flags, module_name

    def __getattr__(self, name):
        attribute = getattr(self._flags, name)
        if name.startswith("DEFINE_"):
            import functools

            return functools.partial(attribute, module_name=self._module_name)
        return attribute


def _validator(spec):
    from absl import flags

    def validate(value):
        if value is None:
            return True
        try:
            check_field(spec, flag_value(spec, value))
        except UsageError as error:
            raise flags.ValidationError(str(error).split(": ", 1)[1]) from None
        return True

    return validate


def flag_value(spec, value):
    """A parsed flag value as the field's type (list flags become tuples)."""
    if spec.kind is not tuple:
        return value
    items = []
    for text in value:
        try:
            items.append(spec.item(text))
        except ValueError:
            raise UsageError(f"--{spec.name}: expected a comma-separated list of "
                             f"{spec.item.__name__} values, got {','.join(value)!r}") from None
    return tuple(items)


def overrides_from_flags(config_class, flag_values):
    """{field: value} of every field flag that was given (None = not given)."""
    out = {}
    for spec in specs(config_class):
        value = flag_values[spec.name].value
        if value is not None:
            out[spec.name] = flag_value(spec, value)
    return out


def flag_lines(config):
    """The fields of ``config`` as flag lines that parse back to the same values.

    Example:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Small(RunConfig):
        ...     cells: tuple[str, ...] = field(("lstm",), "Cells.")
        >>> flag_lines(Small(epochs=3, progress=False))
        ['--epochs=3', '--seed=0', '--strategy=default', '--num_cpu_devices=0', '--noprogress', '--precision=float32', '--cells=lstm']
    """
    lines = []
    for spec in specs(type(config)):
        value = getattr(config, spec.name)
        if spec.kind is bool:
            lines.append(f"--{spec.name}" if value else f"--no{spec.name}")
        elif spec.kind is tuple:
            lines.append(f"--{spec.name}={','.join(map(repr if spec.item is float else str, value))}")
        elif spec.kind is float:
            lines.append(f"--{spec.name}={value!r}")
        else:
            if "\n" in str(value):
                raise UsageError(f"--{spec.name}: a flag file cannot hold a newline, got "
                                 f"{value!r}")
            lines.append(f"--{spec.name}={value}")
    return lines


def resume_changes(config_class, saved, config):
    """{field: (saved, new)} of the non-resumable fields that differ from ``saved``."""
    current = config.to_dict()
    return {spec.name: (saved.get(spec.name), current[spec.name])
            for spec in specs(config_class)
            if not spec.resumable and spec.name in saved
            and saved[spec.name] != current[spec.name]}
