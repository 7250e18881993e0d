"""What a submission slot can hold, checked before anything is written: the tensor name, the values, a whole batch."""
import struct

from .layout import SLOT_KIND_MUTATION, _ZERO_NAME, _slot_fmt
from .values import _U64_MAX, _NUMBER_TYPES, _checked, _listed


class SlotChecks:
    """Client's checks of its arguments against the session's limits (`max_name`, `max_values`); `_scratch` is
    a slot-sized buffer, `_name`/`_name_len`/`_name_field` the cached tensor name."""

    def _set_name(self, tensor):
        """Makes `tensor` the cached name (its length and zero-padded field), or a ValueError if no slot can hold it."""
        if not isinstance(tensor, str):
            raise ValueError("tensor name must be a str, got %.80r" % (tensor,))
        try:
            name = tensor.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("tensor name %.80r is not valid UTF-8 (a lone surrogate)" % (tensor,)) from None
        if not 0 < len(name) <= self.max_name:
            raise ValueError("tensor name must be 1..%d UTF-8 bytes" % self.max_name)
        self._name, self._name_len, self._name_field = tensor, len(name), name + _ZERO_NAME[len(name):]

    def _check(self, tensor, offset, values, confidence):
        """What `_put` refuses, found without writing anything: a ValueError, or `values` as `_put` takes them."""
        if tensor.__class__ is not str or tensor != self._name:
            self._set_name(tensor)
        if not isinstance(values, (list, tuple)):
            values = _listed(values)
        if not 0 < len(values) <= self.max_values:
            raise ValueError("1..%d values per mutation (split larger ones)" % self.max_values)
        # The common types pass at C speed; anything else is packed into scratch as `_put` would
        # pack it (and asked of `_checked` when that fails: it names the field, or rounds a value).
        if not (offset.__class__ is int and 0 <= offset <= _U64_MAX and confidence.__class__ is float and _NUMBER_TYPES.issuperset(map(type, values))):
            if offset.__class__ is bool or confidence.__class__ is bool or bool in map(type, values):
                _checked(offset, confidence, values)  # raises: a bool would pack as 0 or 1
            try:
                _slot_fmt(len(values)).pack_into(self._scratch, 0, SLOT_KIND_MUTATION, 0, 0, offset, confidence, 0, len(values), 0, _ZERO_NAME, *values)
            except (struct.error, OverflowError, TypeError):
                _checked(offset, confidence, values)
        return values

    def _check_batch(self, mutations):
        """(tensor, offset, values, confidence) tuples checked as `_put` takes them, or a ValueError naming the first bad one."""
        check, batch = self._check, []
        for i, m in enumerate(mutations):
            try:
                tensor, offset, values, confidence = m
                checked = check(tensor, offset, values, confidence)
                batch.append(m if checked is values else (tensor, offset, checked, confidence))
            except (ValueError, TypeError, AttributeError) as e:
                raise ValueError("mutations[%d]: %s" % (i, e)) from None
        return batch
