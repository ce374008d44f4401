"""Files looked up by the number in their name ("PEP 8", "go proposal 24543"), and queries whose
small number is incidental ("version 2 of the protocol"), over the docs corpus.

For the lookups it prints, per mode, how many of the twelve come first and in the top 3 (the
file named is the answer); for the incidental queries, how many top 3s differ from those with
the name lookup switched off (tantivy_index.NAME_NUMBER_BOOST = 0), and which. Indexes the
corpus into HOME unless it is already there. Run from the repository root:

    python benchmarks/name_lookups.py --home /tmp/docs-home [--corpus FOLDER]

(--corpus: ../shared/corpora/opensource-docs unless given.)

2026-12-04, the whole docs corpus (1,314 files), load 5-7: first / top 3 of 12 in hybrid were
4 / 5 before file-name numbers (bm25 3 / 5); 11 / 12 with them at boost 3 (bm25 11 / 12), 9 / 11
at 2, 11 / 12 at 5. Of the 12 incidental queries two top 3s change at boost 3, both toward a
file the number names: "64 bit integers" puts 36606-64-bit-field-alignment.md first, "swift 5
concurrency" swift-5_0.md. Before the rule that a short number needs another word of the query
in the same name (every number alone, boost 5), 9 of the 12 changed, 7 of them for the worse
("html 5 parsing" put swift-5_0.md first).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from known_answers import indexed_home  # noqa: E402  (this folder is on sys.path)

import localsearch.lexical.tantivy_index as tantivy_index  # noqa: E402
from localsearch.search.engine import SearchEngine  # noqa: E402

LOOKUPS = [
    ("PEP 8", "pep-0008.rst"),
    ("pep 0008", "pep-0008.rst"),
    ("pep-0008", "pep-0008.rst"),
    ("PEP 257", "pep-0257.rst"),
    ("pep 343", "pep-0343.rst"),
    ("PEP 20", "pep-0020.rst"),
    ("SE-0255", "0255-omit-return.md"),
    ("swift proposal 255", "0255-omit-return.md"),
    ("EP 10", "ep-010.rst"),
    ("go proposal 24543", "24543-non-cooperative-preemption.md"),
    ("PEP 405 virtual environments", "pep-0405.rst"),
    ("pep 3108", "pep-3108.rst"),
]
INCIDENTAL = [
    "python 3 unicode strings",
    "top 10 regex mistakes",
    "2 phase commit",
    "utf 8 decoding errors",
    "64 bit integers",
    "version 2 of the protocol",
    "python 2 to 3 migration",
    "swift 5 concurrency",
    "go 1 compatibility promise",
    "html 5 parsing",
    "unicode 15 character database",
    "http 2 server push",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "corpora" / "opensource-docs"
    )
    args = parser.parse_args()
    settings = indexed_home(args.home, args.corpus)
    engine = SearchEngine(settings)
    boost = tantivy_index.NAME_NUMBER_BOOST
    try:
        engine.warm_up()
        engine.ensure_lexical()
        for mode in ("bm25", "hybrid"):
            ranks = []
            for query, name in LOOKUPS:
                names = [Path(h.path).name for h in engine.search(query, k=10, mode=mode).hits]
                ranks.append(names.index(name) + 1 if name in names else None)
            first = sum(rank == 1 for rank in ranks)
            top3 = sum(rank is not None and rank <= 3 for rank in ranks)
            print(
                f"{mode:7s} lookups first {first}/{len(LOOKUPS)}, top 3 {top3}/{len(LOOKUPS)}"
                f"  ranks {' '.join('-' if r is None else str(r) for r in ranks)}"
                f"  (boost {boost:g}, load {os.getloadavg()[0]:.1f})"
            )
        changed = []
        for query in INCIDENTAL:
            tops = []
            for query_boost in (0.0, boost):
                tantivy_index.NAME_NUMBER_BOOST = query_boost
                tops.append([Path(h.path).name for h in engine.search(query, k=3).hits])
            tantivy_index.NAME_NUMBER_BOOST = boost
            if tops[0] != tops[1]:
                changed.append(f"  {query!r}: {tops[0]} -> {tops[1]}")
        print(f"hybrid  incidental numbers: {len(changed)}/{len(INCIDENTAL)} top 3s changed")
        print("\n".join(changed))
    finally:
        engine.close()


if __name__ == "__main__":
    main()
