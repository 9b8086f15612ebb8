"""The FAQ engine: a character n-gram TF-IDF index with an edit-distance re-rank.

Questions and knowledge texts are normalised (see `normalize`), cut into CJK character
unigrams and bigrams, and scored against every phrasing at once: the inverted index keeps
each gram's postings as slices of numpy columns, added into one score array per question
(pure-Python accumulation took 40 ms at p99 on a 1,000-topic knowledge base). Three
lexical signals are blended per phrasing: cosine similarity, how much of the question the
phrasing explains, and how much of the phrasing the question contains (which finds a
question buried in a long message). The few best topics are then re-ranked with rapidfuzz's
`ratio` against their phrasings. Out-of-scope patterns (rent, tickets, exams, chit-chat...)
are indexed like topics; when one wins or comes close, the engine declines to answer.
"""

import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.faq import texts
from bot.faq.knowledge import Knowledge, load_knowledge
from bot.faq.model import Category, FaqAnswer, Outcome, Topic
from bot.faq.normalize import Normalizer, char_ngrams, compact

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """Weights and thresholds, chosen on tests/faq/eval_tuning.tsv."""

    unigram_weight: float = 0.8
    w_cosine: float = 1.0
    w_query_cover: float = 1.5
    w_phrase_cover: float = 0.5
    w_ratio: float = 1.0
    rerank: int = 5
    answer_at: float = 0.4
    refuse_below: float = 0.25
    close_margin: float = 0.02
    out_of_scope_margin: float = 0.06
    max_alternatives: int = 3
    partial_from: int = 4
    partial_min_query: int = 16
    partial_weight: float = 0.9


class FaqEngine:
    """Answers graduates' questions from the knowledge base; build once with `load`."""

    def __init__(self, knowledge: Knowledge, settings: MatchSettings | None = None) -> None:
        self._settings = settings or MatchSettings()
        self._normalize = Normalizer(knowledge.aliases)
        self._topics = {topic.id: topic for topic in knowledge.topics}
        self._categories = knowledge.categories
        self._entries = knowledge.entries
        self._build_index()

    @classmethod
    def load(
        cls,
        path: str | Path | None = None,
        settings: MatchSettings | None = None,
    ) -> "FaqEngine":
        """Load a knowledge base (default: the shipped one) and index it."""
        return cls(load_knowledge(path), settings)

    # browse menu

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id; raises KeyError for an unknown id."""
        return self._topics[topic_id]

    def topics(self, category_id: str | None = None) -> tuple[Topic, ...]:
        """All answerable topics in knowledge-base order, or those of one category."""
        if category_id is None:
            return tuple(self._topics.values())
        for category in self._categories:
            if category.id == category_id:
                return tuple(self._topics[t] for t in category.topic_ids)
        raise KeyError(category_id)

    def categories(self) -> tuple[Category, ...]:
        """Categories in menu order; each lists its topic ids."""
        return self._categories

    def related(self, topic: Topic) -> tuple[Topic, ...]:
        """The topics a topic's answer points to, for "相关问题" buttons."""
        return tuple(self._topics[t] for t in topic.related)

    # matching

    def answer(self, text: str) -> FaqAnswer:
        """Answer one question; never raises for odd input."""
        return self.decide(self.rank(text), self._settings)

    def decide(self, ranked: list[tuple[int, float]], s: MatchSettings) -> FaqAnswer:
        """Turn a ranking into an answer; separate from `rank` so thresholds can be tuned."""
        in_scope = [(e, score) for e, score in ranked if self._entries[e].in_scope]
        best_score = in_scope[0][1] if in_scope else 0.0
        if not in_scope or best_score < s.refuse_below:
            return self._unknown(best_score)
        rivals = [score for e, score in ranked if not self._entries[e].in_scope]
        if rivals and rivals[0] >= best_score - s.out_of_scope_margin:
            return self._unknown(best_score)
        close = [e for e, score in in_scope if score >= best_score - s.close_margin]
        if best_score >= s.answer_at and len(close) == 1:
            topic = self._topics[self._entries[close[0]].id]
            return FaqAnswer(Outcome.ANSWERED, topic, best_score, (), topic.answer)
        picks = close if len(close) > 1 else [e for e, _ in in_scope]
        alternatives = tuple(
            self._topics[self._entries[e].id] for e in picks[: s.max_alternatives]
        )
        prompt = texts.ambiguous_text([t.title for t in alternatives])
        return FaqAnswer(Outcome.AMBIGUOUS, None, best_score, alternatives, prompt)

    def rank(self, text: str) -> list[tuple[int, float]]:
        """Entries (topics and out-of-scope patterns) with blended scores, best first."""
        normalized = self._normalize(text)
        query = Counter(char_ngrams(normalized))
        if not query:
            return []
        s = self._settings
        query_compact = compact(normalized)
        scale = s.w_cosine + s.w_query_cover + s.w_phrase_cover + s.w_ratio
        ranked = []
        for entry, score in self._shortlist(query):
            ratio = self._similarity(query_compact, self._compacts[entry]) / 100.0
            ranked.append((entry, (score + s.w_ratio * ratio) / scale))
        ranked.sort(key=lambda item: item[1], reverse=True)
        return ranked

    def _shortlist(self, query: Counter[str]) -> list[tuple[int, float]]:
        """The `rerank` entries with the best lexical score, best first; ties by entry order.

        A phrasing's score is a sum over the grams it shares with the question, so every
        phrasing is scored at once by adding each question gram's posting columns into one
        array; an entry's score is its best phrasing's.
        """
        s = self._settings
        idf, unseen = self._idf, self._unseen_idf
        q_weights = [(g, self._weigh(g, n) * idf.get(g, unseen)) for g, n in query.items()]
        q_mass = sum(w for _, w in q_weights)
        q_norm = math.sqrt(sum(w * w for _, w in q_weights))
        docs, cosine, phrase = self._post_docs, self._post_cosine, self._post_phrase
        scores = np.zeros(len(self._doc_entry))
        for gram, qw in q_weights:
            span = self._spans.get(gram)
            if span is None:
                continue
            lo, hi = span
            scores[docs[lo:hi]] += (qw / q_norm) * cosine[lo:hi] + (
                phrase[lo:hi] + s.w_query_cover * qw / q_mass
            )
        best = np.maximum.reduceat(scores, self._entry_starts)
        hit = np.flatnonzero(best > 0.0)
        order = hit[np.lexsort((hit, -best[hit]))[: s.rerank]]
        entries = self._entry_of_start
        return [(int(entries[i]), float(best[i])) for i in order]

    def entry_id(self, entry: int) -> str:
        """The topic or out-of-scope id of an index entry, for evaluation output."""
        return self._entries[entry].id

    def _similarity(self, query: str, phrases: list[str]) -> float:
        """Best edit-distance similarity of the question to one of a topic's phrasings.

        A question much longer than a phrasing is also aligned against it piecewise
        (partial_ratio), which finds a question buried in a long message. Phrasings shorter
        than `partial_from` are never aligned that way: a one-character phrasing would match
        any message containing that character.
        """
        s = self._settings
        match = process.extractOne(query, phrases, scorer=fuzz.ratio)
        best = match[1] if match else 0.0
        if s.partial_weight <= 0 or len(query) < s.partial_min_query:
            return best
        for phrase in phrases:
            if s.partial_from <= len(phrase) < len(query) // 2:
                best = max(best, s.partial_weight * fuzz.partial_ratio(phrase, query))
        return best

    def _unknown(self, score: float) -> FaqAnswer:
        return FaqAnswer(Outcome.UNKNOWN, None, score, (), texts.UNKNOWN_REPLY)

    def _weigh(self, gram: str, count: int) -> float:
        tf = 1.0 + math.log(count)
        return tf * self._settings.unigram_weight if len(gram) == 1 else tf

    def _build_index(self) -> None:
        s = self._settings
        normalized_docs: list[tuple[int, str]] = []
        self._compacts: list[list[str]] = []
        for index, entry in enumerate(self._entries):
            forms = []
            for text in entry.texts:
                normalized = self._normalize(text)
                if normalized:
                    normalized_docs.append((index, normalized))
                    forms.append(compact(normalized))
            self._compacts.append(forms)
        grams_per_doc = [Counter(char_ngrams(text)) for _, text in normalized_docs]
        df: Counter[str] = Counter()
        for grams in grams_per_doc:
            df.update(grams.keys())
        total = len(grams_per_doc)
        self._idf = {g: math.log((total + 1) / (n + 1)) + 1.0 for g, n in df.items()}
        self._unseen_idf = math.log(total + 1) + 1.0
        self._doc_entry = [entry for entry, _ in normalized_docs]
        factor = {g: self._weigh(g, 1) * idf for g, idf in self._idf.items()}
        post_gram: list[int] = []
        post_weight: list[float] = []
        sizes: list[int] = []
        gram_id = {g: i for i, g in enumerate(factor)}
        for grams in grams_per_doc:
            post_gram.extend(map(gram_id.__getitem__, grams))
            post_weight.extend(
                factor[g] * (1.0 + math.log(n)) if n > 1 else factor[g] for g, n in grams.items()
            )
            sizes.append(len(grams))
        weight = np.array(post_weight, dtype=np.float64)
        doc_of = np.repeat(np.arange(len(sizes), dtype=np.intp), sizes)
        firsts = np.cumsum([0, *sizes[:-1]])
        norm = np.sqrt(np.add.reduceat(weight * weight, firsts))
        mass = np.add.reduceat(weight, firsts)
        # postings sorted by gram: one gram's are a slice of each column
        gram_of = np.array(post_gram, dtype=np.intp)
        by_gram = np.argsort(gram_of, kind="stable")
        self._post_docs = doc_of[by_gram]
        self._post_cosine = (s.w_cosine * weight / norm[doc_of])[by_gram]
        self._post_phrase = (s.w_phrase_cover * weight / mass[doc_of])[by_gram]
        counts = np.bincount(gram_of, minlength=len(gram_id)).tolist()
        ends = np.cumsum(counts).tolist()
        self._spans = {g: (ends[i] - counts[i], ends[i]) for g, i in gram_id.items()}
        # docs are numbered in entry order, so an entry's phrasings are one run
        doc_entry = np.array(self._doc_entry, dtype=np.intp)
        starts = np.flatnonzero(np.r_[True, doc_entry[1:] != doc_entry[:-1]])
        self._entry_starts = starts
        self._entry_of_start = doc_entry[starts]
        logger.info("faq index built topics=%d docs=%d", len(self._topics), len(self._doc_entry))
