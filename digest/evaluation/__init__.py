"""`digest eval`: replay a labelled corpus through the real pipeline and measure the editions."""

from digest.evaluation.corpus import Corpus, CorpusItem, Label, load_corpus
from digest.evaluation.metrics import DayScore, EvalReport, score_edition, total_score
from digest.evaluation.replay import run_eval

__all__ = [
    "Corpus",
    "CorpusItem",
    "DayScore",
    "EvalReport",
    "Label",
    "load_corpus",
    "run_eval",
    "score_edition",
    "total_score",
]
