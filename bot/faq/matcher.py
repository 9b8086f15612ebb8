"""The FAQ engine: a character n-gram TF-IDF index with an edit-distance re-rank.

Questions and knowledge texts are normalised (see `normalize`), cut into CJK character
unigrams and bigrams, and scored against every phrasing through an inverted index. Three
lexical signals are blended per phrasing: cosine similarity, how much of the question the
phrasing explains, and how much of the phrasing the question contains (which finds a
question buried in a long message). The few best topics are then re-ranked with rapidfuzz's
`ratio` against their phrasings. Out-of-scope patterns (rent, tickets, exams, chit-chat...)
are indexed like topics; when one wins or comes close, the engine declines to answer.
"""

import heapq
import logging
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

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


# posting lists at most this long are read before the shortlist floor is first estimated
_CHEAP_POSTINGS = 64
_FLOOR_SAMPLE = 32
# phrasings with fewer grams are scored in full: one shared character is much of them
_SHORT_DOC = 8
# pruning keeps this much slack for float rounding, so it never drops a tied entry
_EPSILON = 1e-9


def _by_score_then_entry(item: tuple[int, float]) -> tuple[float, int]:
    return item[1], -item[0]


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
        lexical = self._lexical(query)
        shortlist = heapq.nlargest(s.rerank, lexical.items(), key=_by_score_then_entry)
        query_compact = compact(normalized)
        scale = s.w_cosine + s.w_query_cover + s.w_phrase_cover + s.w_ratio
        ranked = []
        for entry, score in shortlist:
            ratio = self._similarity(query_compact, self._compacts[entry]) / 100.0
            ranked.append((entry, (score + s.w_ratio * ratio) / scale))
        ranked.sort(key=lambda item: item[1], reverse=True)
        return ranked

    def _lexical(self, query: Counter[str]) -> dict[int, float]:
        """The best blended lexical score of every entry that can reach the shortlist.

        A phrasing's score is a sum over the grams it shares with the question. Short
        phrasings (keywords, titles) are always scored in full. For the others each gram's
        part is bounded, and grams are visited rarest first: once the grams left could not
        lift a phrasing that shares none of the visited ones to the shortlist's floor, the
        long posting lists of common characters are skipped, and only the phrasings already
        met are completed. The shortlist is exact: it is what reading every posting gives.
        """
        s = self._settings
        idf, unseen = self._idf, self._unseen_idf
        q_weights = [(g, self._weigh(g, n) * idf.get(g, unseen)) for g, n in query.items()]
        q_mass = sum(w for _, w in q_weights)
        q_norm = math.sqrt(sum(w * w for _, w in q_weights))
        short: dict[int, float] = {}
        terms = []
        for gram, qw in q_weights:
            a, b = qw / q_norm, s.w_query_cover * qw / q_mass
            get = short.get
            for doc, x, y in self._short_postings.get(gram, ()):
                short[doc] = get(doc, 0.0) + a * x + b + y
            postings = self._postings.get(gram)
            if postings is not None:
                terms.append((len(postings), gram, a, b))
        terms.sort()
        entries = self._doc_entry
        lexical: dict[int, float] = {}
        for doc, score in short.items():
            entry = entries[doc]
            if score > lexical.get(entry, 0.0):
                lexical[entry] = score
        bounds = self._bounds(terms)
        acc: dict[int, float] = {}
        floor = -math.inf
        checked = 0
        stop = len(terms)
        for i, (df, gram, a, b) in enumerate(terms):
            if df > _CHEAP_POSTINGS and len(acc) > 1.5 * checked:
                checked = len(acc)
                floor = self._floor(lexical, acc, terms[i:])
            if bounds[i] < floor - _EPSILON:
                stop = i
                break
            get = acc.get
            for doc, x, y in self._postings[gram]:
                acc[doc] = get(doc, 0.0) + a * x + b + y
        rest = terms[stop:]
        reach = bounds[stop]
        best = lexical.get
        for doc, partial in acc.items():
            if partial + reach < floor - _EPSILON:
                continue
            score = self._complete(doc, partial, rest) if rest else partial
            entry = entries[doc]
            if score > best(entry, 0.0):
                lexical[entry] = score
        return lexical

    def _bounds(self, terms: list[tuple[int, str, float, float]]) -> list[float]:
        """bounds[i]: the most the grams of terms[i:] can add to a long phrasing's score.

        Cosine is bounded by Cauchy-Schwarz and by each gram's largest posting, phrase
        cover by its total of 1 and by each gram's largest posting, question cover exactly.
        """
        s = self._settings
        bounds = [0.0] * (len(terms) + 1)
        squares = cover = phrase = cosine = 0.0
        for i in range(len(terms) - 1, -1, -1):
            _, gram, a, b = terms[i]
            max_x, max_y = self._gram_max[gram]
            squares += a * a
            cosine += a * max_x
            cover += b
            phrase += max_y
            bounds[i] = (
                min(s.w_cosine * math.sqrt(squares), cosine)
                + cover
                + min(s.w_phrase_cover, phrase)
            )
        return bounds

    def _complete(
        self, doc: int, partial: float, rest: list[tuple[int, str, float, float]]
    ) -> float:
        """A long phrasing's full score from its partial one and the grams not visited."""
        weights = self._doc_weights[doc]
        x_scale, y_scale = self._doc_scales[doc]
        for _, gram, a, b in rest:
            dw = weights.get(gram)
            if dw is not None:
                partial += a * dw * x_scale + b + dw * y_scale
        return partial

    def _floor(
        self,
        lexical: dict[int, float],
        acc: dict[int, float],
        rest: list[tuple[int, str, float, float]],
    ) -> float:
        """A score the shortlist's last entry is sure to reach: the `rerank`-th best entry
        among the short phrasings and a few completed leading long ones."""
        scores = dict(lexical)
        entries = self._doc_entry
        for doc, partial in heapq.nlargest(_FLOOR_SAMPLE, acc.items(), key=itemgetter(1)):
            score = self._complete(doc, partial, rest)
            entry = entries[doc]
            if score > scores.get(entry, 0.0):
                scores[entry] = score
        if len(scores) < self._settings.rerank:
            return -math.inf
        return heapq.nlargest(self._settings.rerank, scores.values())[-1]

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
        self._doc_entry: list[int] = []
        self._doc_weights: list[dict[str, float]] = []
        self._doc_scales: list[tuple[float, float]] = []
        # a posting holds a phrasing's cosine and phrase-cover parts for one gram
        postings: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        short_postings: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
        for (entry, _), grams in zip(normalized_docs, grams_per_doc, strict=True):
            weights = {g: self._weigh(g, n) * self._idf[g] for g, n in grams.items()}
            doc = len(self._doc_entry)
            x_scale = s.w_cosine / math.sqrt(sum(w * w for w in weights.values()))
            y_scale = s.w_phrase_cover / sum(weights.values())
            self._doc_entry.append(entry)
            self._doc_weights.append(weights)
            self._doc_scales.append((x_scale, y_scale))
            target = short_postings if len(weights) < _SHORT_DOC else postings
            for gram, weight in weights.items():
                target[gram].append((doc, weight * x_scale, weight * y_scale))
        self._postings = dict(postings)
        self._short_postings = dict(short_postings)
        self._gram_max = {
            gram: (max(x for _, x, _ in plist), max(y for _, _, y in plist))
            for gram, plist in self._postings.items()
        }
        logger.info("faq index built topics=%d docs=%d", len(self._topics), len(self._doc_entry))
