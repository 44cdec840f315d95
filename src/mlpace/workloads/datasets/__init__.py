"""Data sets: the :class:`Dataset` contract, real on-disk formats and synthetic stand-ins.

Loaders (each module is imported when used, so this package stays cheap to import):

* :mod:`.imagenet`: ImageNet validation folder + ``val_map.txt``
* :mod:`.coco`: COCO ``annotations/instances_val2017.json`` + ``val2017/``
* :mod:`.squad`: SQuAD v1.1 JSON
* :mod:`.criteo`: Criteo TSV click logs
* :mod:`.synthetic`: seeded stand-ins, refused in accuracy mode by :func:`require_real_data`
"""

from mlpace.workloads.datasets.synthetic import (
    ACCURACY_NEEDS_REAL_DATA,
    SyntheticDataset,
    require_real_data,
)

__all__ = ["ACCURACY_NEEDS_REAL_DATA", "SyntheticDataset", "require_real_data"]
