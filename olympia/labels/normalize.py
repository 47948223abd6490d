"""Raw exercise label -> normalized label (method.md §2).

"Alt. DB Curls" -> "alternating dumbbell curl", "1-Leg RDL (L)" -> "single leg romanian
deadlift left", "Push-ups + knee drive" -> "pushup + knee drive", "Calf Raises - 20 reps" -> "calf raise".

Order of the rules (each documented in docs/labels.md, data in annotations/labels/):
  0. Set, rep and time decorations of video titles removed ("x12", "3x10", "- 20 reps", "30s",
     "(60 seconds)"), so a count never becomes a label word (1..30 are the counting classes).
  1. Unicode: NFKC (full-width -> ASCII), accents stripped, the few Latin letters without a
     decomposition transliterated (ß -> ss, æ -> ae, ø -> o, ł -> l, ...), anything else
     non-ASCII (emoji, other scripts) becomes a word break and is reported. Lowercase.
  2. "w/" -> with, "w/o" -> without; a possessive "'s" is dropped ("child's pose" ->
     "child pose"), other apostrophes are removed ("rock'n roll" -> "rockn roll").
  3. "+" and "&" become words of their own (conjunctions are kept).
  4. Hyphens removed: glued ("push-up" -> "pushup") or split into words ("internal-external",
     "t-bar", "1-leg"), see compounds.yaml.
  5. Every other special character (underscore, dot, slash, brackets, ...) is a word break;
     runs of whitespace become one space.
  6. Numbers lose leading zeros; numeric abbreviations ("1 leg" -> "single leg");
     abbreviations expanded (posture letters and posture phrases kept).
  7. Singular: spaCy's lookup lemmatizer (blank English pipeline, spacy-lookups-data) accepted
     only when it removes a plural ending, inflect as fallback; protected words never change.
     Gerunds that are not vocabulary words become their verb ("deadlifting" -> "deadlift").
  8. Conservative spelling correction (explicit table, then a unique edit-distance-1
     vocabulary word for words that are not real words), every correction logged.
  9. Multi-word spellings merged ("push up" -> "pushup", "warmup 7" -> "warmup7").
The whole pipeline is repeated until nothing changes (at most 4 passes), so it is idempotent.
"""
from __future__ import annotations

import functools
import logging
import re
import string
import unicodedata
from dataclasses import dataclass

from olympia.errors import LabelError
from olympia.labels.rules import LabelRules, load_label_rules

log = logging.getLogger("olympia.labels")

MAX_LABEL_CHARS = 200        # longer raw labels are descriptions, not exercise names
OUTPUT_ALPHABET = frozenset(string.ascii_lowercase + string.digits + "+& ")
_MAX_PASSES = 4

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'",
                              "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                              "\u2014": "-", "\uff0d": "-", "\u00d7": "x"})   # 3×10 -> 3x10
# Latin letters that Unicode decomposition (NFKD) does not reduce to ASCII ("Straße" must not
# lose its "ss" and become "stra e").
_LATIN_EXTRA = str.maketrans({"\u00df": "ss", "\u1e9e": "SS", "\u00e6": "ae", "\u00c6": "AE",
                              "\u0153": "oe", "\u0152": "OE", "\u00f8": "o", "\u00d8": "O",
                              "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D",
                              "\u00f0": "d", "\u00d0": "D", "\u00fe": "th", "\u00de": "TH",
                              "\u0131": "i", "\u0140": "l", "\u013f": "L"})
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_W_SLASH_O = re.compile(r"(?<![a-z0-9])w/o(?![a-z0-9])")
_W_SLASH = re.compile(r"(?<![a-z0-9])w/(?=[a-z ]|$)")
_POSSESSIVE = re.compile(r"(?<=[a-z])'s(?![a-z0-9])")
_HYPHEN_CHAIN = re.compile(r"[a-z0-9]+(?:-+[a-z0-9]+)+")
_SPECIAL = re.compile(r"[^a-z0-9+& ]+")


@dataclass(frozen=True)
class Correction:
    """One spelling correction the normalizer applied (listed in the curator report)."""
    word: str        # as written (after lowercasing / singularizing)
    replacement: str
    kind: str        # "table" (corrections.yaml) or "auto" (unique edit-distance-1 word)


@dataclass(frozen=True)
class LabelTrace:
    """What `normalize_label` did to one raw label (for the curator report and --explain)."""
    raw: str
    label: str
    removed_characters: str               # non-ASCII characters dropped (emoji, symbols)
    corrections: tuple[Correction, ...]
    expansions: tuple[tuple[str, str], ...]  # (abbreviation, expansion)
    decorations: tuple[str, ...] = ()     # set/rep/time decorations removed ("20 reps", "x12")


def _import_spacy():
    """spaCy without torch. thinc (spaCy's ML layer) imports torch eagerly when it is installed
    (it is, for the trainer): ~2-5 s of a dataset build for nothing, since labels only use the
    lookup tables. Hiding torch during the import makes thinc take its no-torch path; a later
    `import torch` in the same process works as usual."""
    import sys

    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # `import torch` raises ImportError while this is set
    try:
        import spacy
        from spacy.lookups import load_lookups
    finally:
        if hide and sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy, load_lookups


class _Lexicon:
    """spaCy lookup tables, built once: the lemmatizer's lookup table and an English word list."""

    def __init__(self, rules: LabelRules):
        spacy, load_lookups = _import_spacy()
        import inflect

        nlp = spacy.blank("en")
        lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()  # loads en_lemma_lookup from spacy-lookups-data; no model download
        table = lemmatizer.lookups.get_table("lemma_lookup")
        self.lemma_lookup = {}
        extra = load_lookups("en", ["lemma_index", "lemma_exc"])
        words: set[str] = set()
        for pos_words in (extra.get_table("lemma_index")[p] for p in ("noun", "verb", "adj", "adv")):
            words.update(w for w in pos_words if w.isalpha())
        for exc in (extra.get_table("lemma_exc")[p] for p in ("noun", "verb", "adj", "adv")):
            words.update(k for k in exc if k.isalpha())
        self.table = table
        self.dictionary = frozenset(words)
        self.inflect = inflect.engine()
        self._prob: dict | None = None

    def lemma(self, word: str) -> str | None:
        return self.table.get(word)

    def frequent(self, word: str, min_log_prob: float) -> bool:
        """True when spaCy's lexeme probabilities call `word` common English (loaded lazily:
        only a word with exactly one correction candidate gets here)."""
        if self._prob is None:
            from pathlib import Path

            import spacy_lookups_data
            import srsly
            # read the raw table (1.4 s) rather than spaCy's hashed Table (4 s)
            path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
            self._prob = srsly.read_gzip_json(path) if path.is_file() else {}
        prob = self._prob.get(word)
        return prob is not None and prob >= min_log_prob


_POSTURE_FIRST: frozenset[str] = frozenset()
_PHRASE_FIRST: dict[str, int] = {}   # first word of a phrase -> longest phrase starting with it
_TOKEN_RULE_KEYS: frozenset[str] = frozenset()   # tokens that step 6 may rewrite (fast path)
_MERGE_KEYS: frozenset[str] = frozenset()        # tokens that step 9 may merge (fast path)
_DIGIT = re.compile(r"[0-9]")
_FIXED_POINTS: set[str] = set()      # labels known to normalize to themselves (skip a pass)


@functools.lru_cache(maxsize=1)
def _resources() -> tuple[LabelRules, _Lexicon]:
    global _POSTURE_FIRST, _PHRASE_FIRST, _TOKEN_RULE_KEYS, _MERGE_KEYS
    rules = load_label_rules()
    _POSTURE_FIRST = frozenset(p[0] for p in rules.posture_phrases)
    _TOKEN_RULE_KEYS = frozenset(rules.numbers) | _POSTURE_FIRST | rules.posture_letters \
        | frozenset(rules.abbreviations) | frozenset(k + "s" for k in rules.abbreviations)
    _FIXED_POINTS.clear()
    _PHRASE_FIRST = {}
    for p in rules.phrases:
        _PHRASE_FIRST[p[0]] = max(_PHRASE_FIRST.get(p[0], 0), len(p))
    _MERGE_KEYS = frozenset(_PHRASE_FIRST) | rules.number_suffix_words
    return rules, _Lexicon(rules)


def clear_caches() -> None:
    """Forget cached rules, lexicon and results (after editing the rule files)."""
    _resources.cache_clear()
    explain_label.cache_clear()
    _word_cache.clear()
    _FIXED_POINTS.clear()


# --------------------------------------------------------------------------- text level

def _clean_text(raw: str, rules: LabelRules) -> tuple[str, str, list[str]]:
    """Steps 0-5: unicode, lowercase, decorations, symbols, hyphens.
    Returns (text, removed non-ASCII, removed decorations)."""
    removed = ""
    if not raw.isascii():
        text = unicodedata.normalize("NFKC", raw).translate(_APOSTROPHES).translate(_LATIN_EXTRA)
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
        removed = "".join(_NON_ASCII.findall(text))
        raw = _NON_ASCII.sub(" ", text)
    text = raw.lower()
    decorations: list[str] = []
    if _DIGIT.search(text):
        text = _strip_decorations(text, rules, decorations)
    if "/" in text:
        text = _W_SLASH.sub(" with ", _W_SLASH_O.sub(" without ", text))
    if "'" in text:
        text = _POSSESSIVE.sub("", text).replace("'", "")
    if "+" in text or "&" in text:
        text = text.replace("+", " + ").replace("&", " & ")
    if "-" in text:
        text = _HYPHEN_CHAIN.sub(lambda m: _join_hyphenated(m.group(0), rules), text)
    return _SPECIAL.sub(" ", text), removed, decorations


def _strip_decorations(text: str, rules: LabelRules, found: list[str]) -> str:
    """Step 0: each decoration (decorations.yaml) becomes a space; what was removed is kept."""
    for deco in rules.decorations:
        def cut(m: re.Match) -> str:
            found.append(m.group(0).strip())
            return " "
        text = deco.pattern.sub(cut, text)
    return text


def _join_hyphenated(chain: str, rules: LabelRules) -> str:
    parts = [p for p in chain.split("-") if p]
    out = [parts[0]]
    for right in parts[1:]:
        left = out[-1]
        if _glue(left, right, rules):
            out[-1] = left + right
        else:
            out.append(right)
    return " ".join(out)


def _glue(left: str, right: str, rules: LabelRules) -> bool:
    if left.isdigit() or right.isdigit() or len(left) == 1 or len(right) == 1:
        return False  # 1-leg, 90-degree, t-bar, w-raise: separate words
    if left in rules.numbers and right in rules.limb_words:
        return False  # one-arm -> "single arm"
    if right in rules.hyphen_particles:
        return True   # push-up, sit-ups, warm-up
    joined = left + right
    lexicon = _resources()[1]
    for form in (joined, joined[:-1] if joined.endswith("s") else joined):
        if form in rules.vocabulary_words or form in lexicon.dictionary:
            return True   # good-morning -> goodmorning, skull-crushers -> skullcrushers
    return False


# --------------------------------------------------------------------------- word level

_word_cache: dict[str, tuple[tuple[str, ...], tuple[Correction, ...]]] = {}


def _is_known(word: str, rules: LabelRules, lexicon: _Lexicon) -> bool:
    return (word in rules.vocabulary_words or word in rules.known_words or word in rules.protected
            or word in lexicon.dictionary or word in lexicon.table)


def singularize(word: str) -> str:
    """Singular of one lowercase word; protected (anatomical, invariant) words stay."""
    rules, lexicon = _resources()
    return _singular(word, rules, lexicon)


def _singular(word: str, rules: LabelRules, lexicon: _Lexicon) -> str:
    if word in rules.irregular_plurals:
        return rules.irregular_plurals[word]
    if (len(word) < 3 or not word.endswith("s") or word.endswith(("ss", "us", "is"))
            or word in rules.protected or not word.isalpha()):
        return word
    if word in rules.vocabulary_words:
        # "seconds" -> "second" (both listed); "across" stays (no "acros" in the vocabulary)
        stem = _plural_stem(word, rules, lexicon)
        return stem if stem in rules.vocabulary_words else word
    return _plural_stem(word, rules, lexicon)


def _plural_stem(word: str, rules: LabelRules, lexicon: _Lexicon) -> str:
    lemma = lexicon.lemma(word)
    # the lookup lemmatizer knows no part of speech: "was" -> "be", "lying" -> "lie". Accept
    # only a lemma that removes a plural ending.
    if lemma and lemma != word and (word in (lemma + "s", lemma + "es")
                                    or (lemma.endswith("y") and word == lemma[:-1] + "ies")
                                    or (lemma.endswith(("f", "fe")) and word.endswith("ves"))):
        return lemma
    single = lexicon.inflect.singular_noun(word)
    if not single or single == word:
        return word
    if _is_known(single, rules, lexicon) or single in rules.corrections:
        return single
    # an unknown word ("jumpjacks"): take inflect's regular -s stem unless the word itself is known
    return word if _is_known(word, rules, lexicon) else single


def _verb(word: str, rules: LabelRules, lexicon: _Lexicon) -> str:
    """A gerund that is not itself a vocabulary word -> its verb, when the verb is one
    (verb_forms.yaml): "deadlifting" -> "deadlift", "pressing" -> "press"; "standing" stays."""
    suffix = next((x for x in rules.verb_suffixes if word.endswith(x)), None)
    if (suffix is None or len(word) < len(suffix) + 3 or word in rules.vocabulary_words
            or word in rules.verb_keep):
        return word
    stem = word[:-len(suffix)]
    candidates = [lexicon.lemma(word), stem, stem + "e"]
    if len(stem) > 2 and stem[-1] == stem[-2]:
        candidates.append(stem[:-1])             # hopping -> hop
    return next((c for c in candidates if c in rules.verb_targets), word)


def _edits1(word: str):
    letters = string.ascii_lowercase
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for a, b in splits:
        if b:
            yield a + b[1:]
            for c in letters:
                if c != b[0]:
                    yield a + c + b[1:]
        if len(b) > 1:
            yield a + b[1] + b[0] + b[2:]
        for c in letters:
            yield a + c + b


def _auto_correct(word: str, rules: LabelRules, lexicon: _Lexicon) -> str | None:
    if not rules.auto_correct or len(word) < rules.auto_min_length or not word.isalpha():
        return None
    if _is_known(word, rules, lexicon):
        return None
    candidates = {w for w in _edits1(word) if w in rules.vocabulary_words and len(w) > 1}
    if len(candidates) != 1:
        return None  # nothing close, or ambiguous: leave as written (reported as uncategorized)
    if lexicon.frequent(word, rules.auto_min_log_prob):
        return None  # a real (if rare) English word, e.g. a brand or a technical term
    return candidates.pop()


def _normalize_word(word: str, rules: LabelRules, lexicon: _Lexicon):
    """One token after abbreviation expansion -> (words, corrections)."""
    hit = _word_cache.get(word)
    if hit is not None:
        return hit
    corrections: list[Correction] = []
    if word.isdigit() or word in ("+", "&") or len(word) == 1:
        out = (word,)                       # numbers, conjunction signs, posture letters
    elif word in rules.corrections:
        out = rules.corrections[word]
        corrections.append(Correction(word, " ".join(out), "table"))
    else:
        single = _verb(_singular(word, rules, lexicon), rules, lexicon)
        if single in rules.corrections and single != " ".join(rules.corrections[single]):
            out = rules.corrections[single]
            corrections.append(Correction(single, " ".join(out), "table"))
        else:
            fixed = _auto_correct(single, rules, lexicon)
            if fixed is not None:
                corrections.append(Correction(single, fixed, "auto"))
                log.info("spelling: %r -> %r (unique vocabulary word at edit distance 1)", single, fixed)
            out = (fixed or single,)
    for c in corrections:
        if c.kind == "table":   # logged once per word (results are cached), like the auto ones
            log.info("spelling: %r -> %r (corrections.yaml)", c.word, c.replacement)
    result = (tuple(out), tuple(corrections))
    if len(_word_cache) < 200_000:
        _word_cache[word] = result
    return result


# --------------------------------------------------------------------------- token level

def _numbers_and_abbreviations(tokens: list[str], rules: LabelRules, expansions: list):
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok not in _TOKEN_RULE_KEYS and not tok.isdigit():
            out.append(tok)                 # most tokens: no rule applies
            i += 1
            continue
        nxt = tokens[i + 1] if i + 1 < n else ""
        if tok.isdigit():
            tok = str(int(tok))
        phrase = _posture_phrase_at(tokens, i, rules) if tok in _POSTURE_FIRST else None
        if tok in rules.numbers and nxt in rules.limb_words:
            out.append(rules.numbers[tok])
        elif phrase:
            out.extend(phrase)
            i += len(phrase)
            continue
        elif tok in rules.posture_letters:
            out.append(tok)
        elif tok in rules.abbreviations:
            out.extend(rules.abbreviations[tok])
            expansions.append((tok, " ".join(rules.abbreviations[tok])))
        elif len(tok) > 2 and tok.endswith("s") and tok[:-1] in rules.abbreviations:
            out.extend(rules.abbreviations[tok[:-1]])
            expansions.append((tok, " ".join(rules.abbreviations[tok[:-1]])))
        else:
            out.append(tok)
        i += 1
    return out


def _posture_phrase_at(tokens: list[str], i: int, rules: LabelRules) -> tuple[str, ...] | None:
    for p in rules.posture_phrases:
        if tuple(tokens[i:i + len(p)]) == p:
            return p
    return None


def _merge_phrases(tokens: list[str], rules: LabelRules) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        for n in range(min(_PHRASE_FIRST.get(tok, 0), len(tokens) - i), 1, -1):
            repl = rules.phrases.get(tuple(tokens[i:i + n]))
            if repl is not None:
                out.extend(repl)
                i += n
                break
        else:
            if tok in rules.number_suffix_words and i + 1 < len(tokens) and tokens[i + 1].isdigit():
                out.append(tok + tokens[i + 1])  # warmup 7 -> warmup7
                i += 2
                continue
            out.append(tok)
            i += 1
    return out


def _one_pass(raw: str, rules: LabelRules, lexicon: _Lexicon):
    text, removed, decorations = _clean_text(raw, rules)
    expansions: list[tuple[str, str]] = []
    tokens = text.split()
    if not _TOKEN_RULE_KEYS.isdisjoint(tokens) or _DIGIT.search(text):
        tokens = _numbers_and_abbreviations(tokens, rules, expansions)
    words: list[str] = []
    corrections: list[Correction] = []
    for tok in tokens:
        out, corr = _word_cache.get(tok) or _normalize_word(tok, rules, lexicon)
        words.extend(out)
        if corr:
            corrections.extend(corr)
    if not _MERGE_KEYS.isdisjoint(words):
        words = _merge_phrases(words, rules)
    return " ".join(words), removed, corrections, expansions, decorations


def _is_fixed_point(label: str, rules: LabelRules, lexicon: _Lexicon) -> bool:
    """True when another pass would return `label` unchanged, decided without the text steps:
    the text is already clean, the number / abbreviation / posture step leaves the tokens as
    they are, every word normalizes to itself without a correction (word cache), and no
    phrase merges. This is exactly the second pass, minus its string work."""
    if label in _FIXED_POINTS:
        return True
    if _SPECIAL.search(label) or "  " in label:
        return False
    if _DIGIT.search(label) and any(d.pattern.search(label) for d in rules.decorations):
        return False
    tokens = label.split()
    if not _TOKEN_RULE_KEYS.isdisjoint(tokens) or (_DIGIT.search(label)
                                                   and any(t.isdigit() for t in tokens)):
        expansions: list = []
        if _numbers_and_abbreviations(tokens, rules, expansions) != tokens or expansions:
            return False
    for tok in tokens:
        out, corr = _word_cache.get(tok) or _normalize_word(tok, rules, lexicon)
        if corr or out != (tok,):
            return False
    return _MERGE_KEYS.isdisjoint(tokens) or _merge_phrases(tokens, rules) == tokens


@functools.lru_cache(maxsize=1 << 18)
def explain_label(raw: str) -> LabelTrace:
    """Normalize `raw` and say how (corrections, expansions, dropped characters)."""
    if not isinstance(raw, str):
        raise LabelError(f"label {raw!r} is a {type(raw).__name__}, not text; "
                         "fix: give the exercise name as a string")
    if not raw.strip():
        raise LabelError(f"label {raw!r} is empty; fix: give the clip an exercise name "
                         "(label_raw) or quarantine it")
    if len(raw) > MAX_LABEL_CHARS:
        raise LabelError(f"label {raw[:40]!r}... is {len(raw)} characters long (limit "
                         f"{MAX_LABEL_CHARS}); fix: put the exercise name in label_raw and any "
                         "description in the clip's extra field")
    rules, lexicon = _resources()
    label, removed, corrections, expansions, decorations = _one_pass(raw, rules, lexicon)
    for _ in range(_MAX_PASSES - 1):
        if _is_fixed_point(label, rules, lexicon):
            break
        again, _removed, more, _exp, more_decorations = _one_pass(label, rules, lexicon)
        if again == label:
            if len(_FIXED_POINTS) < 200_000:
                _FIXED_POINTS.add(label)
            break
        corrections.extend(more)
        decorations.extend(more_decorations)
        label = again
    if not label and decorations:
        raise LabelError(f"label {raw!r} is only a set/rep/time count ({', '.join(decorations)}), "
                         "no exercise name; fix: give the clip its exercise name in label_raw")
    if not label:
        if any(c.isalpha() for c in raw):
            raise LabelError(f"label {raw!r} normalizes to nothing: its letters are not Latin "
                             "(the vocabulary is English); fix: translate the exercise name to "
                             "English in label_raw")
        raise LabelError(f"label {raw!r} normalizes to nothing (no letters or digits left after "
                         "removing special characters and emoji); fix: give a word-based "
                         "exercise name")
    return LabelTrace(raw=raw, label=label, removed_characters=removed,
                      corrections=tuple(corrections), expansions=tuple(expansions),
                      decorations=tuple(decorations))


def normalize_label(raw: str) -> str:
    """The normalized label of `raw` (method.md §2); raises LabelError when there is none."""
    return explain_label(raw).label
