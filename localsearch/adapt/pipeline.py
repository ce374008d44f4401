"""`adapt()`: fine-tune the embedder on the user's own files, with no labels, never for worse.

Stages, each reported through the progress callback under its name:
  generate  pseudo-queries for the chunks (model-free from document structure, or a seq2seq
            generator), stored in SQLite so a re-run reuses them;
  mine      hard negatives from BM25 and the current dense vectors, false negatives dropped;
  train     MultipleNegativesRankingLoss with in-batch and hard negatives;
  evaluate  the current and the new model on held-out documents' queries; the gate;
  reembed   the corpus into a new embedding space while the old one serves; an atomic switch.

Safety: the writer lock is held throughout, the new model is written to a hidden folder and
appears (renamed, card last) only once it has passed the gate, and the active space changes in
one transaction at the very end. Ctrl-C or kill -9 anywhere leaves the previous model active
and the index searchable; a re-run reuses the stored queries and any vectors already embedded.
"""

from __future__ import annotations

import errno
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from localsearch.adapt import distributed
from localsearch.adapt.from_history import (
    HistorySplit,
    query_digest,
    query_pairs,
    split_history,
    synthetic_weight,
)
from localsearch.adapt.gate import MIN_JUDGED, GateResult, gate_chunks, run_gate
from localsearch.adapt.negatives import CorpusView, MiningOptions, mine_hard_negatives
from localsearch.adapt.options import AdaptOptions
from localsearch.adapt.queries import training_passage
from localsearch.adapt.query_tower import QueryPair
from localsearch.adapt.synthetic import MODEL_FREE, SyntheticQueries, SyntheticQuery
from localsearch.adapt.train import (
    TrainingExample,
    TrainingReport,
    quiet_model_libraries,
    require_training_dependencies,
    train_bi_encoder,
    training_device,
)
from localsearch.adapt.training_examples import load_reranker, passage_text, training_examples
from localsearch.adapt.training_plan import learning_rate, train_query_side, train_whole_model
from localsearch.config import Settings, require_index
from localsearch.embed.encoder import Encoder
from localsearch.embed_backlog import require_all_embedded
from localsearch.errors import DiskFullError, NoIndexError, UsageError
from localsearch.progress import ProgressCallback, ProgressEvent, ignore_progress
from localsearch.store import EmbeddingSpace, Store
from localsearch.store.vector_reads import vector_matrix
from localsearch.wording import plural

if TYPE_CHECKING:
    from localsearch.index import Index

STAGES = ("generate", "mine", "train", "evaluate", "reembed")
MIN_DOCUMENTS = 3
FROM_HISTORY = "your searches"  # the generator's name when no synthetic queries are made


@dataclass
class AdaptResult:
    kept: bool
    model: str | None  # the new model's name when it was kept
    previous_model: str
    reason: str
    generator: str
    queries: int
    training_pairs: int
    held_out_queries: int
    gate: GateResult | None = None
    training: TrainingReport | None = None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    card: dict[str, Any] = field(default_factory=dict)
    judged_on: str = ""  # the line saying whether held-out searches or synthetic queries judged
    query_side: bool = False
    history_pairs: int = 0  # training pairs that came from the search log
    worker: bool = False  # a launched run's rank above 0, which only trained

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k not in ("gate", "training")}
        data["gate"] = self.gate.to_dict() if self.gate else None
        data["training"] = asdict(self.training) if self.training else None
        return data


def what_trains(query_side: bool, pairs: int, history_pairs: int, generator: str) -> str:
    """What a run trains and on what: "the query side on 12 pairs (5 from your searches, the
    rest from structure)"."""
    source = f"from {generator}"
    if history_pairs >= pairs:
        source = "from your searches"
    elif history_pairs:
        source = f"{history_pairs} from your searches, the rest {source}"
    tower = "the query side" if query_side else "the whole model"
    return f"{tower} on {plural(pairs, 'pair')} ({source})"


def adapt(
    settings: Settings,
    options: AdaptOptions = AdaptOptions(),
    progress: ProgressCallback = ignore_progress,
    announce: Callable[[str], None] = lambda line: None,
) -> AdaptResult:
    """Fine-tune, gate and (if better) activate a new model for the index in `settings.home`.

    `announce` is given a line before training that says what the new model will be judged
    on, which a user would otherwise learn only minutes later. Under `torchrun` / `accelerate
    launch` every rank calls this; see distributed.py."""
    require_training_dependencies()
    quiet_model_libraries()
    training_device(options.device or settings.device)  # a device it lacks fails at once
    if not distributed.is_main_process():
        return train_for_rank_zero()
    with distributed.coordinating():
        return _adapt_once(settings, options, progress, announce)


def _adapt_once(
    settings: Settings,
    options: AdaptOptions,
    progress: ProgressCallback,
    announce: Callable[[str], None],
) -> AdaptResult:
    """adapt itself: in a launched run, on rank 0 only."""
    from localsearch.adapt.models import remove_unfinished
    from localsearch.index import Index

    require_index(settings)
    index = Index(settings)
    try:
        with index.writer_lock(options.wait_seconds, purpose="adapt"):
            remove_unfinished(settings.models_dir)
            return _Run(index, settings, options, progress, announce).run()
    finally:
        index.close()


def train_for_rank_zero() -> AdaptResult:
    """A rank above 0: train rank 0's job alongside it (it alone saves), then step aside."""
    job = distributed.receive_training_job()
    training = None
    if job is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as unused:  # rank 0 saves the model
            training = train_bi_encoder(job.base_location, job.examples, Path(unused), job.options)
    distributed.leave_process_group()
    return AdaptResult(
        kept=False,
        model=None,
        previous_model="",
        reason=f"rank {distributed.rank()} trained alongside rank 0, which reports",
        generator="",
        queries=0,
        training_pairs=len(job.examples) if job else 0,
        held_out_queries=0,
        training=training,
        worker=True,
    )


class _Run:
    """One adapt run; the stages share the index, the chunks and the clock."""

    def __init__(
        self,
        index: Index,
        settings: Settings,
        options: AdaptOptions,
        progress: ProgressCallback,
        announce: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.index = index
        self.store: Store = index.store
        self.settings = settings
        self.options = options
        self.progress = progress
        self.announce = announce
        self.started = time.monotonic()
        self.stage_seconds: dict[str, float] = {}
        self.device = options.device or settings.device
        self.query_side = False
        self.history_pairs = 0

    def _timed(self, stage: str, started: float) -> None:
        self.stage_seconds[stage] = round(time.monotonic() - started, 1)

    def run(self) -> AdaptResult:
        from localsearch.adapt.models import (
            adapted_root,
            append_run_log,
            interrupted_switch,
            next_model_name,
            root_base,
            write_card,
        )
        from localsearch.catalog import SENTENCE_TRANSFORMERS, model_reference, resolve_model

        user_pairs: list[TrainingExample] = []
        if self.options.pairs_file is not None:  # read first: a bad file fails in a second
            from localsearch.adapt.pairs import read_pairs

            user_pairs = read_pairs(self.options.pairs_file)
        # A named model not on this machine, or a folder that is no model, fails now, not once
        # loaded after minutes of queries (a folder ended in "internal error (ValueError…)").
        generator = self.options.generator if self.options.generator != MODEL_FREE else None
        for named in (self.options.base, self.options.reranker, generator):
            if named:
                models_dir = self.settings.models_dir
                resolve_model(model_reference(named, models_dir), models_dir)
        active = self.store.active_space()
        if active is None:
            raise NoIndexError("the index has no vectors yet", "run `localsearch index PATH` first")
        # Training and the gate score against every stored vector: a part would mislead.
        require_all_embedded(self.store, active, "adapt needs them all")
        self.active = active
        pending = interrupted_switch(self.settings.models_dir, self.store)
        if pending is not None:
            return self.finish_switch(pending)
        base = self.options.base or root_base(active.model, self.settings.models_dir)
        resolved_base = resolve_model(base, self.settings.models_dir)
        if resolved_base.runtime != SENTENCE_TRANSFORMERS:
            raise UsageError(
                f"model {base!r} cannot be adapted: its {resolved_base.runtime} engine does not"
                " train",
                "adapt a sentence-transformers model, e.g. `localsearch adapt --base"
                " all-MiniLM-L6-v2`",
            )
        base_location = resolved_base.location
        self.index.sync_lexical(self.progress)
        chunks = list(self.store.iter_chunks())
        documents = {c.document_id for c in chunks}
        if len(documents) < MIN_DOCUMENTS:
            raise UsageError(
                f"adapt needs at least {MIN_DOCUMENTS} indexed documents; this index has"
                f" {len(documents)}",
                "index more files first",
            )
        self.chunks = {c.id: c for c in chunks}
        name = self.options.name or next_model_name(self.settings.models_dir, base)
        if (adapted_root(self.settings.models_dir) / name).exists():
            raise UsageError(f"an adapted model named {name!r} already exists")

        history = self.read_history()
        self.query_side = self.choose_query_side(history, user_pairs)  # may refuse the options
        self.announce(f"this run will be {history.judged_on()}")
        if self.query_side:  # the document tower must be the one that made the stored vectors
            base = active.model
            resolved_base = resolve_model(base, self.settings.models_dir)
            base_location = resolved_base.location
        self.text_format = resolved_base.text_format  # E5's "query: " and "passage: ", say
        self.multilingual = resolved_base.multilingual
        self.synthetic = SyntheticQueries(
            self.store,
            self.settings,
            self.chunks,
            self.options,
            device=self.device,
            progress=self.progress,
            timed=self._timed,
        )
        queries: list[SyntheticQuery] = []
        if history.judges and synthetic_weight(len(history.training)) == 0.0:
            generator = FROM_HISTORY  # the log is enough on its own
        else:
            generator, queries = self.synthetic.generate(chunks)
        held_out_docs = self.synthetic.held_out_documents(queries)
        held_out = [q for q in queries if q.chunk.document_id in held_out_docs]
        training_queries = [q for q in queries if q.chunk.document_id not in held_out_docs]
        if generator == MODEL_FREE:
            training_queries, held_out = self.synthetic.lexical_misses(training_queries, held_out)
        # Keyword queries train well but judge badly: a model that learnt their odd format
        # scores on them without serving real questions any better. Titles and headings read
        # like what people type, so the gate uses those when there are any.
        worded = [q for q in held_out if q.kind != "keywords"]
        held_out = worded or held_out
        if len(held_out) > self.options.max_held_out_queries:
            held_out = random.Random(self.options.seed).sample(
                held_out, self.options.max_held_out_queries
            )
        judge = (
            [(p.query, p.positives[0]) for p in history.held_out]
            if history.judges
            else [(q.text, q.chunk.id) for q in held_out]
        )
        if len(judge) < MIN_JUDGED:  # found before training: the gate would keep nothing
            raise UsageError(
                f"only {plural(len(judge), 'query')} could be held out to judge a new model,"
                f" fewer than the {MIN_JUDGED} it takes",
                "index more documents (titles and headings make the best pseudo-queries)",
            )
        tower_pairs: list[QueryPair] = []
        examples: list[TrainingExample] = []
        if self.query_side:
            tower_pairs = self.query_tower_pairs(history, training_queries)
            pair_count = len(tower_pairs)
        else:
            examples = self.mine(training_queries, held_out_docs)
            examples = self.mix_history(history, examples)
            examples.extend(user_pairs)
            pair_count = len(examples)
        if pair_count < 2:
            raise UsageError(
                "too few training pairs were found in this index",
                "index more documents, or give your own with --pairs FILE",
            )

        # Said before the minutes of training, as what it will be judged on.
        trains = what_trains(self.query_side, pair_count, self.history_pairs, generator)
        self.announce(f"it will train {trains}")
        staging = adapted_root(self.settings.models_dir) / f".{name}"
        staging.mkdir(parents=True, exist_ok=True)
        try:
            training = self.train(base_location, tower_pairs, examples, staging)
            gate, gate_vectors = self.evaluate(judge, staging, real=history.judges)
            card = self.card(
                name, base, base_location, generator, queries, judge, pair_count, training, gate
            )
            card["query_side"] = self.query_side
            card["judged_on"] = history.judged_on()
            card["history"] = {
                "searches": history.searches,
                "with_opened_result": history.usable,
                "trained_on": len(history.training),
                "held_out": len(history.held_out),
                # `eval --history` leaves these out: a model flatters itself on them.
                "trained_query_digests": sorted({query_digest(p.query) for p in history.training}),
            }
            if not gate.keep:
                shutil.rmtree(staging, ignore_errors=True)
                result = self.result(
                    False, None, gate.reason, generator, queries, pair_count, judge, gate,
                    training, card,
                )  # fmt: skip
                append_run_log(self.settings.models_dir, {**card, "kept": False})
                return result
            write_card(staging, card)
            final = adapted_root(self.settings.models_dir) / name
            staging.rename(final)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if _out_of_space(exc):  # also as safetensors words it, in an error of its own
                raise DiskFullError(
                    f"the disk is full; no new model was kept, and {active.model} stays active",
                    "free some space and run adapt again",
                ) from None
            raise
        self.reembed(name, gate_vectors)
        card["seconds"] = round(time.monotonic() - self.started, 1)
        card["stage_seconds"] = dict(self.stage_seconds)
        write_card(final, card)
        append_run_log(self.settings.models_dir, {**card, "kept": True})
        return self.result(
            True, name, gate.reason, generator, queries, pair_count, judge, gate, training, card
        )

    def finish_switch(self, card: dict[str, Any]) -> AdaptResult:
        """Complete the re-embed and switch of a model that passed the gate in a killed run."""
        from localsearch.adapt.models import append_run_log

        name = str(card["name"])
        self.chunks = {}
        self.reembed(name, {})
        append_run_log(self.settings.models_dir, {**card, "kept": True, "resumed": True})
        return AdaptResult(
            kept=True,
            model=name,
            previous_model=self.active.model,
            reason=f"finished switching to {name}, which an interruption had cut short",
            generator=str(card.get("generator", "")),
            queries=int(card.get("queries", 0)),
            training_pairs=int(card.get("pairs", 0)),
            held_out_queries=int(card.get("held_out_queries", 0)),
            stage_seconds=dict(self.stage_seconds),
            seconds=time.monotonic() - self.started,
            card=card,
        )

    # -- the search log and the query tower ------------------------------------------------

    def read_history(self) -> HistorySplit:
        if not self.options.use_history:
            return HistorySplit(ignored=True)
        from localsearch.history import SearchHistory

        return split_history(SearchHistory(self.store).searches(), seed=self.options.seed)

    def choose_query_side(
        self, history: HistorySplit, user_pairs: Sequence[TrainingExample]
    ) -> bool:
        chosen = self.options.query_side
        # The query side trains against every stored passage vector: it mines no negatives.
        mining = bool(self.options.reranker) or self.options.negatives_per_query > 0
        if chosen is None:
            return (
                bool(history.training)
                and not user_pairs
                and self.options.base is None
                and not mining
            )
        if chosen and mining:
            raise UsageError(
                "--reranker and --hard-negatives filter mined negatives, which only whole-model"
                " training uses; the query side trains against every stored passage",
                "drop --query-side, or the mining options",
            )
        if chosen and user_pairs:
            raise UsageError(
                "--pairs trains the whole model and cannot be combined with --query-side",
                "drop one of the two options",
            )
        if chosen and self.options.base not in (None, self.active.model):
            raise UsageError(
                "a query-side model keeps the active model's passage side, so --base cannot be"
                " combined with --query-side",
                "drop one of the two options",
            )
        return chosen

    def query_tower_pairs(
        self, history: HistorySplit, training_queries: Sequence[SyntheticQuery]
    ) -> list[QueryPair]:
        """The logged pairs, with synthetic ones filling in while the log is short."""
        self.training_corpus = self.corpus_view(self.active)
        real = query_pairs(
            history.training, self.training_corpus, self.current_encoder().encode_queries
        )
        self.history_pairs = len(real)
        weight = synthetic_weight(len(real))
        synthetic = [QueryPair(q.text, q.chunk.id, weight) for q in training_queries]
        return real + (synthetic if weight > 0 else [])

    def mix_history(
        self, history: HistorySplit, synthetic: list[TrainingExample]
    ) -> list[TrainingExample]:
        """Logged pairs for full fine-tuning; once there are some, at most as many synthetic
        pairs as logged ones, so that what the user really asked counts."""
        real = [
            TrainingExample(pair.query, passage_text(self.chunks[chunk_id]))
            for pair in history.training
            for chunk_id in pair.positives
            if chunk_id in self.chunks
        ]
        self.history_pairs = len(real)
        if real and synthetic_weight(len(real)) < 1.0:
            rng = random.Random(self.options.seed)
            synthetic = rng.sample(synthetic, min(len(synthetic), len(real)))
        return real + synthetic

    # -- mine ---------------------------------------------------------------------------------

    def corpus_view(self, space: EmbeddingSpace, only: set[int] | None = None) -> CorpusView:
        ids, matrix = vector_matrix(self.store, space)
        if only is not None:
            mask = np.fromiter((int(i) in only for i in ids), dtype=bool, count=len(ids))
            ids, matrix = ids[mask], matrix[mask]
        document_of = {
            int(i): self.chunks[int(i)].document_id for i in ids if int(i) in self.chunks
        }
        openings = frozenset(i for i in document_of if self.chunks[i].ordinal == 0)
        return CorpusView(ids, np.ascontiguousarray(matrix), document_of, openings)

    def current_encoder(self) -> Encoder:
        return self.index.encoder(self.active.model)

    def mine(
        self, queries: Sequence[SyntheticQuery], held_out_docs: set[int]
    ) -> list[TrainingExample]:
        started = time.monotonic()
        options = self.options
        need_mining = options.negatives_per_query > 0 or options.require_round_trip
        if not need_mining:
            self.progress(ProgressEvent("mine", len(queries), len(queries), "no hard negatives"))
            self._timed("mine", started)
            return [TrainingExample(q.text, training_passage(q.chunk, q.kind)) for q in queries]
        corpus = self.corpus_view(self.active)
        encoder = self.current_encoder()
        reranker = (
            load_reranker(options.reranker, self.settings.models_dir, self.device)
            if options.reranker
            else None
        )
        mined = mine_hard_negatives(
            [(q.text, q.chunk.id) for q in queries],
            corpus=corpus,
            encode_queries=encoder.encode_queries,
            lexical_search=self.index.lexical.search,
            excluded_documents=held_out_docs,
            options=MiningOptions(negatives_per_query=options.negatives_per_query),
            reranker=reranker,
            passage_text=lambda cid: passage_text(self.chunks[cid]),
            progress=self.progress,
        )
        examples = training_examples(queries, mined, self.chunks, held_out_docs, options)
        self._timed("mine", started)
        return examples

    # -- train --------------------------------------------------------------------------------

    def train(
        self,
        base_location: str,
        tower_pairs: Sequence[QueryPair],
        examples: Sequence[TrainingExample],
        output: Path,
    ) -> TrainingReport:
        started = time.monotonic()
        if self.query_side:
            report = train_query_side(
                base_location,
                tower_pairs,
                self.training_corpus,
                output,
                self.options,
                device=self.device,
                text_format=self.text_format,
                progress=self.progress,
            )
        else:
            report = train_whole_model(
                base_location,
                examples,
                output,
                self.options,
                device=self.device,
                narrowed=self.synthetic.narrowed,
                text_format=self.text_format,
                progress=self.progress,
            )
        self._timed("train", started)
        return report

    # -- evaluate -----------------------------------------------------------------------------

    def evaluate(
        self, held_out: Sequence[tuple[str, int]], model_dir: Path, *, real: bool
    ) -> tuple[GateResult, dict[int, np.ndarray]]:
        """The gate on the held-out queries (`real`: logged searches), and the new model's
        passage vectors it computed (none for a query-side model: the stored ones serve)."""
        from localsearch.catalog import ResolvedModel
        from localsearch.embed.sentence_transformer import SentenceTransformerEncoder

        started = time.monotonic()
        only = gate_chunks(
            held_out,
            set(self.chunks),
            self.index.lexical.search,
            self.options.gate_corpus_limit,
            self.options.seed,
        )
        current = self.corpus_view(self.active, only)
        candidate_encoder = SentenceTransformerEncoder(
            ResolvedModel(model_dir.name, str(model_dir)),
            device=self.device,
            precision=self.settings.precision,
            batch_size=self.settings.embed_batch_size,
        )
        ids = [int(i) for i in current.chunk_ids]

        def gate_against(candidate: CorpusView) -> GateResult:
            return run_gate(
                held_out,
                current_corpus=current,
                candidate_corpus=candidate,
                encode_current=self.current_encoder().encode_queries,
                encode_candidate=candidate_encoder.encode_queries,
                lexical_search=self.index.lexical.search,
                settings=self.settings,
                real=real,
                multilingual=self.multilingual,
            )

        if self.query_side:
            self.progress(ProgressEvent("evaluate", 0, len(held_out), "encoding held-out queries"))
            gate = gate_against(current)
            self.progress(ProgressEvent("evaluate", len(held_out), len(held_out)))
            self._timed("evaluate", started)
            return gate, {}
        texts = [passage_text(self.chunks[i]) for i in ids]
        total = len(texts)
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            self.progress(ProgressEvent("evaluate", done, total, "embedding with the new model"))

        self.progress(ProgressEvent("evaluate", 0, total, "embedding with the new model"))
        vectors = candidate_encoder.encode_passages(texts, advance)
        gate = gate_against(
            CorpusView(current.chunk_ids, vectors, current.document_of, current.openings)
        )
        self._timed("evaluate", started)
        return gate, dict(zip(ids, vectors, strict=True))

    # -- reembed ------------------------------------------------------------------------------

    def reembed(self, name: str, known: dict[int, np.ndarray]) -> None:
        """Fill a new space (the gate's vectors first) while the old one serves; then switch."""
        from localsearch.adapt.models import (
            activate_model_space,
            history_switched_to,
            space_for_model,
        )
        from localsearch.index import BATCH_CHUNKS, IndexReport

        started = time.monotonic()
        encoder = self.index.encoder(name)
        store = self.store
        space = space_for_model(store, name, encoder.fingerprint)  # an interrupted run's
        if space is None:
            with store.transaction():
                space = store.create_space(
                    name, encoder.location, encoder.dimension, encoder.fingerprint
                )
        total = store.count("chunks")
        if self.shares_vectors(name):
            with store.transaction():
                store.copy_vectors(self.active, space)
            self.progress(ProgressEvent("reembed", total, total, "keeping the corpus vectors"))
        ids = [i for i in known if i in self.chunks]
        for start in range(0, len(ids), BATCH_CHUNKS):
            part = ids[start : start + BATCH_CHUNKS]
            with store.transaction():
                store.insert_vectors(space, part, np.stack([known[i] for i in part]))
            self.progress(ProgressEvent("reembed", min(start + len(part), total), total))
        self.index.fill_space(space, encoder, IndexReport(), self.progress, activate=False)
        activate_model_space(store, space, history_switched_to(store, name))
        self._timed("reembed", started)

    def shares_vectors(self, name: str) -> bool:
        """Whether `name` is a query-side model whose passages are the active model's."""
        from localsearch.adapt.models import adapted_root, read_card

        card = read_card(adapted_root(self.settings.models_dir) / name) or {}
        return bool(card.get("query_side")) and card.get("base") == self.active.model

    # -- reporting ----------------------------------------------------------------------------

    def card(
        self,
        name: str,
        base: str,
        base_location: str,
        generator: str,
        queries: Sequence[SyntheticQuery],
        held_out: Sequence[tuple[str, int]],
        pair_count: int,
        training: TrainingReport,
        gate: GateResult,
    ) -> dict[str, Any]:
        options = self.options
        return {
            "name": name,
            "base": base,
            "base_location": base_location,
            "previous_model": self.active.model,
            "generator": generator,
            "query_kinds": dict(Counter(q.kind for q in queries)),
            "queries": len(queries),
            "held_out_queries": len(held_out),
            "pairs": pair_count,
            "pairs_file": str(options.pairs_file) if options.pairs_file else None,
            "hard_negatives": options.negatives_per_query,
            "bm25_misses": {
                "trained_on": self.synthetic.misses[0],
                "of": self.synthetic.misses[1],
            },
            "narrowed_to_bm25_misses": self.synthetic.narrowed,
            "training": {
                **asdict(training),
                "batch_size": options.batch_size,
                "learning_rate": learning_rate(options, self.query_side),
                "max_seq_length": options.max_seq_length,
                "cached_loss": options.cached_loss,
            },
            "metrics": gate.to_dict(),
            "corpus": {
                "documents": len({c.document_id for c in self.chunks.values()}),
                "chunks": len(self.chunks),
            },
            "created_at": time.time(),
            "seconds": round(time.monotonic() - self.started, 1),
            "stage_seconds": dict(self.stage_seconds),
        }

    def result(
        self,
        kept: bool,
        name: str | None,
        reason: str,
        generator: str,
        queries: Sequence[SyntheticQuery],
        pair_count: int,
        held_out: Sequence[tuple[str, int]],
        gate: GateResult,
        training: TrainingReport,
        card: dict[str, Any],
    ) -> AdaptResult:
        return AdaptResult(
            kept=kept,
            model=name,
            previous_model=self.active.model,
            reason=reason,
            generator=generator,
            queries=len(queries),
            training_pairs=pair_count,
            held_out_queries=len(held_out),
            gate=gate,
            training=training,
            stage_seconds=dict(self.stage_seconds),
            seconds=time.monotonic() - self.started,
            card=card,
            judged_on=str(card.get("judged_on", "")),
            query_side=self.query_side,
            history_pairs=self.history_pairs,
        )


def _out_of_space(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc)
