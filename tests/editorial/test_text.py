from digest.editorial.text import clean_text, content_words, split_sentences, tokens
from tests.editorial.fixtures import BOILERPLATE_TEXT


def test_clean_text_removes_feed_noise():
    cleaned = clean_text(BOILERPLATE_TEXT)
    assert "entity list" in cleaned
    for noise in ("Read more", "appeared first", "Comments are closed", "Photo by", "By Jane Roe"):
        assert noise not in cleaned


def test_clean_text_strips_markup_and_entities():
    cleaned = clean_text('<p>Tariffs &amp; quotas</p><p>Second <a href="x">paragraph</a>.</p>')
    assert cleaned == "Tariffs & quotas\nSecond paragraph ."


def test_continue_reading_removed():
    assert clean_text("A useful sentence. Continue reading...") == "A useful sentence."


def test_tokens_normalize_abbreviations_plurals_and_possessives():
    assert tokens("U.S. tariffs hit Huawei's chips") == ["us", "tariff", "hit", "huawei", "chip"]


def test_content_words_drop_stop_words_and_numbers():
    assert content_words(tokens("The US said on Tuesday it would add 12 firms")) == ["add", "firm"]


def test_split_sentences_keeps_abbreviations_together():
    text = "The U.S. Commerce Dept. acted. Mr. Lee said no. Shares fell 3.5% on Friday."
    assert split_sentences(text) == [
        "The U.S. Commerce Dept. acted.",
        "Mr. Lee said no.",
        "Shares fell 3.5% on Friday.",
    ]


def test_split_sentences_are_verbatim_substrings():
    text = clean_text(BOILERPLATE_TEXT)
    for sentence in split_sentences(text):
        assert sentence in text


def test_newsletter_promotions_removed():
    text = (
        "Washington raised duties on Chinese steel. Receive free US-China trade updates\n"
        "Sign up for our Morning Briefing newsletter here.\nOfficials expect a reply."
    )
    cleaned = clean_text(text)
    assert "Receive free" not in cleaned and "Sign up" not in cleaned
    assert "raised duties on Chinese steel." in cleaned and "Officials expect a reply." in cleaned


def test_tokens_fold_accents_and_keep_other_scripts():
    assert tokens("Café owners in Zürich\u2003met 中国 buyers; U.K. firms' U.S.A. sales") == [
        "cafe",
        "owner",
        "in",
        "zurich",
        "met",
        "中国",
        "buyer",
        "uk",
        "firm",
        "usa",
        "sale",
    ]


def test_tokens_are_unicode_words_in_every_script():
    # Russian, Greek and Korean words are words; full-width letters are letters
    assert tokens("Китай вводит ПОШЛИНЫ") == ["китаи", "вводит", "пошлины"]
    assert tokens("Η Κίνα και οι δασμοί") == ["η", "κινα", "και", "οι", "δασμοι"]
    assert tokens("한국 수출 통제") == ["한국", "수출", "통제"]
    assert tokens("ＵＳ ｔａｒｉｆｆｓ") == ["us", "tariff"]
    # Chinese and Japanese, written without spaces, give overlapping character pairs
    assert tokens("中国限制镓出口") == ["中国", "国限", "限制", "制镓", "镓出", "出口"]
    assert tokens("米国の輸出規制") == ["米国", "国の", "の輸", "輸出", "出規", "規制"]
    assert tokens("Huawei的芯片") == ["huawei", "的芯", "芯片"]
    assert tokens("镓") == ["镓"]
