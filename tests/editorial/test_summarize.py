from digest.editorial.summarize import summarize
from digest.editorial.text import clean_text, split_sentences
from tests.editorial import fixtures as fx
from tests.editorial.conftest import make_item


def _sentences_verbatim(summary, items):
    sources = [clean_text(i.text) or i.title for i in items]
    for sentence in split_sentences(summary):
        assert any(sentence in source for source in sources), sentence


def test_summary_is_extractive_and_short():
    summary = summarize(fx.CHIP_RULES, max_words=50)
    assert summary
    assert len(summary.split()) <= 50
    assert 1 <= len(split_sentences(summary)) <= 2
    _sentences_verbatim(summary, fx.CHIP_RULES)


def test_multi_source_summary_is_about_the_shared_event():
    summary = summarize(fx.CHIP_RULES)
    assert "export controls" in summary.lower() or "export" in summary.lower()
    assert "Beijing said it firmly opposed" not in summary


def test_boilerplate_never_reaches_the_summary():
    item = make_item("US blacklists Chinese firms", fx.BOILERPLATE_TEXT)
    summary = summarize([item])
    assert summary.startswith("The US added a dozen Chinese companies")
    for noise in ("Read more", "appeared first", "Comments are closed", "Photo by", "Jane Roe"):
        assert noise not in summary
    _sentences_verbatim(summary, [item])


def test_full_text_article_uses_whole_sentences_without_dangling_pronouns():
    title, _, body = fx.FULL_TEXT_ARTICLE.partition("\n\n")
    item = make_item(title, body)
    summary = summarize([item], max_words=50)
    assert summary.startswith("The US Treasury Secretary arrived in Beijing")
    assert len(summary.split()) <= 50
    assert not summary.startswith(("She ", "It ", "Both "))
    assert "Continue reading" not in summary
    _sentences_verbatim(summary, [item])


def test_long_first_sentence_is_used_alone_not_cut():
    long_sentence = (
        "The United States and China agreed on Friday to extend a truce in their trade dispute, "
        "keeping tariffs on hundreds of billions of dollars of goods at current levels while "
        "negotiators from both governments work through disagreements over export controls, "
        "subsidies, market access and the purchase of American farm goods by Chinese buyers."
    )
    item = make_item("Trade truce extended", long_sentence + " Markets rose on the news.")
    summary = summarize([item], max_words=30)
    assert summary == long_sentence


def test_no_dangling_pronoun_start():
    item = make_item(
        "China curbs exports",
        "He said the curbs were a warning. "
        "China will restrict exports of two metals used in chips.",
    )
    assert summarize([item]) == "China will restrict exports of two metals used in chips."


def test_title_used_when_text_is_empty():
    item = make_item("China and US agree to resume trade talks next month", "")
    assert summarize([item]) == "China and US agree to resume trade talks next month"


def test_truncated_text_is_not_quoted():
    item = make_item("China exports", "Chinese exports fell sharply in July as demand for…")
    assert summarize([item]) == ""


def test_unpunctuated_standfirst_is_not_followed_by_another_sentence():
    item = make_item(
        "Tariff row deepens",
        "Washington and Beijing trade blows over new tariffs on electric cars\n"
        "China said on Monday it would answer the latest US tariffs on electric vehicles.",
    )
    summary = summarize([item])
    assert summary in (
        "Washington and Beijing trade blows over new tariffs on electric cars",
        "China said on Monday it would answer the latest US tariffs on electric vehicles.",
    )


def test_second_sentence_is_not_a_restatement_of_the_first():
    first = make_item(
        "Washington blacklists nine Chinese chipmakers",
        "The Commerce Department on Tuesday added nine Chinese chipmakers, including foundry "
        "Qinghe Semi and toolmaker Lanxi Etch, to its entity list, cutting off their access "
        "to American technology. Officials said the firms supplied China's military.",
        feed="Wire One",
    )
    second = make_item(
        "Nine Chinese chip firms added to US entity list",
        "Qinghe Semi and Lanxi Etch are among the chipmakers added to the US entity list. "
        "Shares of both companies fell sharply in Shanghai trading on Wednesday.",
        feed="Wire Two",
        hours=-5.0,
    )
    summary = summarize([first, second], max_words=60)
    assert summary.startswith("The Commerce Department on Tuesday added nine Chinese chipmakers")
    assert "are among the chipmakers added" not in summary
    _sentences_verbatim(summary, [first, second])
