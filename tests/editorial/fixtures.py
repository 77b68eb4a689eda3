"""Hand-written stories used by several tests (invented wording, not real articles)."""

from __future__ import annotations

from tests.editorial.conftest import make_item

# One event, three outlets.
CHIP_RULES = [
    make_item(
        "US widens curbs on advanced AI chip exports to China",
        "The Commerce Department on Tuesday widened export controls on advanced artificial "
        "intelligence chips to China, closing gaps left by last year's rules. Chipmakers "
        "including Nvidia will need licences to ship the affected processors. Beijing said it "
        "firmly opposed the move.",
        feed="Daily Ledger",
        hours=-10,
    ),
    make_item(
        "Washington tightens AI chip export rules aimed at China",
        "The US tightened rules on exports of artificial intelligence chips and chipmaking tools "
        "to China on Tuesday, widening export controls introduced a year ago. Nvidia shares "
        "fell after the announcement.",
        feed="Market Times",
        hours=-9,
    ),
    make_item(
        "Nvidia hit as US expands China AI chip export controls",
        "New US export controls on AI chips sold to China will hit Nvidia, analysts said. The "
        "Commerce Department rules widen last year's restrictions on advanced processors.",
        feed="Tech Observer",
        hours=-8,
    ),
]

TARIFF_STORY = make_item(
    "China imposes tariffs on US farm goods in retaliation",
    "China's commerce ministry said it would impose tariffs of up to 15% on American soybeans "
    "and pork, its response to new US duties on Chinese goods. Trade between the two countries "
    "has slowed this year.",
    feed="Daily Ledger",
    hours=-4,
)

GALLIUM_STORY = make_item(
    "China tightens grip on gallium and graphite shipments",
    "Chinese exporters of gallium, germanium and some graphite products will need government "
    "permits from December, the commerce ministry said. The critical minerals are used in "
    "electric vehicle batteries and solar panels.",
    feed="Market Times",
    hours=-3,
)

# Lookalikes: share words with the topic but are not about it.
PHONE_CHIP_LAUNCH = make_item(
    "Phone maker unveils its fastest smartphone chip yet",
    "The new processor promises better gaming and battery life. The launch event showed a "
    "benchmark against last year's chip, and the phones go on sale in China and Europe next month.",
    feed="Gadget Blog",
)
SPORTS_TRADE = make_item(
    "Lakers trade veteran guard before the deadline",
    "The NBA team traded the guard in a three-way deal. He joins his new team before the trade "
    "deadline, and will play an exhibition game in Beijing during a preseason tour.",
    feed="Sports Desk",
)
PANDA_STORY = make_item(
    "Giant pandas arrive at zoo on loan from China",
    "Two giant pandas flew from Chengdu to a US zoo under a breeding agreement with China. "
    "Keepers said the animals were settling in well.",
    feed="Daily Ledger",
)
LUMBER_TARIFFS = make_item(
    "US raises tariffs on Canadian softwood lumber",
    "The US Commerce Department raised anti-dumping duties on softwood lumber from Canada, "
    "drawing protests from Ottawa and homebuilders. Trade officials said the decision was final.",
    feed="Market Times",
)
CHINA_FLOODS = make_item(
    "Floods in southern China force thousands from their homes",
    "Heavy rain in southern China caused rivers to burst their banks, and rescue teams "
    "evacuated villages.",
    feed="World Report",
)

BOILERPLATE_TEXT = (
    "By Jane Roe\n"
    "Photo by John Doe / Example Images\n"
    "The US added a dozen Chinese companies to its entity list on Monday, cutting them off from "
    "American technology. Officials cited national security concerns.\n"
    "Read more\n"
    "The post US blacklists Chinese firms appeared first on Example News.\n"
    "Comments are closed."
)

FULL_TEXT_ARTICLE = """Treasury Secretary visits Beijing for talks on trade

The US Treasury Secretary arrived in Beijing on Thursday for four days of talks with Chinese \
officials on trade, investment and export controls. The visit is the most senior by an \
American economic official this year.

She is expected to meet the vice-premier in charge of economic policy. Both sides have said \
they want to stabilise relations after months of tension over chips and tariffs.

It is unclear whether the talks will yield concrete agreements. Analysts said a new working \
group on trade could be announced at the end of the visit.

Continue reading..."""

# The rest of a news day: off-topic stories, several mentioning China or the US, as a real day
# has. They give the clustering its background of common words.
_OTHER_NEWS = [
    (
        "China's space agency plans crewed lunar mission",
        "China said it would land astronauts on the moon before 2030.",
    ),
    (
        "Chinese tourists return to Thai beaches",
        "Visitors from China are back in Phuket as flights resume.",
    ),
    (
        "Beijing marathon draws record field",
        "Runners from China and abroad filled the streets of Beijing.",
    ),
    (
        "US Senate passes farm bill",
        "The US Senate passed a farm bill after weeks of debate in Washington.",
    ),
    (
        "Washington wildfire forces evacuations",
        "Crews in Washington state fought a fire as residents left homes.",
    ),
    ("Storm batters southern England", "High winds cut power to thousands of homes overnight."),
    (
        "Central bank holds interest rates",
        "The European Central Bank left rates unchanged on Thursday.",
    ),
    (
        "New museum opens in Shanghai",
        "The art museum in Shanghai opened with an exhibition of Chinese painting.",
    ),
    (
        "Electric car sales climb in Europe",
        "Sales of electric cars rose in Germany and France last month.",
    ),
    (
        "Scientists map ocean floor",
        "Researchers used robots to chart a deep trench in the Pacific.",
    ),
    (
        "Chinese film tops global box office",
        "A Chinese animated film earned the most of any movie this weekend.",
    ),
    (
        "US jobs report beats forecasts",
        "American employers added more jobs than expected last month.",
    ),
    (
        "Election campaign enters final week",
        "Candidates made last appeals to voters in the capital.",
    ),
    (
        "Taiwan holds annual military drills",
        "Taiwan practised defending against an invasion from China.",
    ),
    (
        "Vaccine trial shows promise",
        "A new vaccine cut infections in a large trial, researchers said.",
    ),
    (
        "Hong Kong ferry services resume",
        "Ferries between Hong Kong and Macau resumed after a typhoon.",
    ),
]
NEWS_DAY = [
    make_item(title, text, feed="World Report", hours=-12 + n * 0.5)
    for n, (title, text) in enumerate(_OTHER_NEWS)
]
