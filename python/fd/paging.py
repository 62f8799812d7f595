"""Converting between the page-addressing conventions of serving engines.

fd's paged entries take each sequence's length in tokens (`lens`), in the
block-table form (vLLM) and in the CSR form (FlashInfer's kv_indptr /
kv_indices) alike, so every kernel and the split plan read one meaning of
it. FlashInfer describes a CSR cache by its last pages' fill instead; this
turns that into `lens` on the device, without a copy of the cache.
"""


def lengths_from_last_page_len(page_indptr, last_page_len, page_size):
    """lens[b] = (indptr[b + 1] - indptr[b] - 1) * page_size +
    last_page_len[b] (0 for a sequence with no pages), for any array type
    with slicing and arithmetic (torch, CuPy, NumPy); the result has
    last_page_len's dtype where the library keeps it."""
    if not isinstance(page_size, int) or page_size < 1:
        raise ValueError("page_size must be a positive int, got %r"
                         % (page_size,))
    pages = page_indptr[1:] - page_indptr[:-1]
    if len(pages) != len(last_page_len):
        raise ValueError("page_indptr has %d entries, so last_page_len needs "
                         "%d, got %d" % (len(page_indptr), len(pages),
                                         len(last_page_len)))
    return ((pages - 1) * page_size + last_page_len) * (pages > 0)
