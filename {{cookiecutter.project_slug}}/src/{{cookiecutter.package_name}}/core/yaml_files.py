"""YAML read with bounds: the size of the file, and the size it expands to.

YAML aliases let a small file stand for a huge one (the "billion laughs": nine lines,
each alias repeating the one before nine times), and a reader that walks the result,
as validation and Hydra do, runs out of memory. Every configuration file is read here,
so an oversized or explosive one is refused with its name before anything walks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

MAX_YAML_BYTES = 1_000_000  # params.yaml is a few KB; a megabyte is not configuration
MAX_YAML_VALUES = 100_000  # values once every alias is expanded where it is used


def read_yaml(path: Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """A YAML file's content; a ConfigError names the file, and the line of a syntax
    error, when it is too large, expands too far or is not YAML."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise ConfigError(f"{path}: {size} bytes, over the {max_bytes} a YAML file may hold")
    return parse_yaml(Path(path).read_text(encoding="utf-8"), path)


def parse_yaml(text: str, source: object) -> Any:
    """YAML text as plain data, refusing aliases that expand past ``MAX_YAML_VALUES``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        expanded_size(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise yaml_error(error, source) from None
    except RecursionError:
        raise ConfigError(f"{source}: nested too deeply to be configuration") from None
    finally:
        loader.dispose()


def expanded_size(root: yaml.Node, source: object) -> int:
    """How many values the document holds once aliases are expanded, counted without
    expanding them: a node used twice counts twice, but is measured once."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known == -1:
            raise ConfigError(f"{source}: an alias refers to a value that contains it")
        if known is not None:
            return known
        sizes[id(node)] = -1  # being measured
        children = node.value if isinstance(node, yaml.SequenceNode) else []
        if isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        total = 1 + sum(size(child) for child in children)
        if total > MAX_YAML_VALUES:
            raise ConfigError(
                f"{source}: its aliases (*name) expand to over {MAX_YAML_VALUES} values: "
                "write the values out, or use fewer aliases"
            )
        sizes[id(node)] = total
        return total

    return size(root)


def yaml_error(error: yaml.YAMLError, path: object) -> ConfigError:
    """A YAML syntax error as one line: file, line, column and the problem."""
    mark = getattr(error, "problem_mark", None)
    where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
    return ConfigError(f"{where}: not valid YAML: {getattr(error, 'problem', None) or error}")
