"""Demo product catalog for the Fernhill Supply storefront (prices written in US cents;
`services.demo.demo_amount` puts them in the store currency)."""

PRODUCTS: list[dict] = [
    {
        "sku": "FH-MUG-01",
        "slug": "ceramic-mug",
        "title": "Dipped Ceramic Mug",
        "description": (
            "A generous 12 oz stoneware mug with a speckled cream glaze and a hand-dipped "
            "blue base. The rounded handle fits three fingers comfortably. "
            "Dishwasher and microwave safe."
        ),
        "price": 2400,
        "on_hand": 24,
    },
    {
        "sku": "FH-NBK-01",
        "slug": "linen-notebook",
        "title": "Linen Hardcover Notebook",
        "description": (
            "An A5 notebook bound in oatmeal linen, with 192 dot-grid pages of smooth 100 gsm "
            "paper. A navy elastic band keeps it closed and a ribbon marks your place."
        ),
        "price": 1800,
        "on_hand": 36,
    },
    {
        "sku": "FH-PEN-01",
        "slug": "brass-pen",
        "title": "Solid Brass Ballpoint Pen",
        "description": (
            "A weighty twist-cap ballpoint machined from solid brass, with a sturdy pocket clip. "
            "The unlacquered finish darkens to a warm patina as you use it. "
            "Takes standard refills."
        ),
        "price": 4200,
        "on_hand": 4,
    },
    {
        "sku": "FH-TOT-01",
        "slug": "canvas-tote",
        "title": "Striped Canvas Tote",
        "description": (
            "A heavyweight natural cotton canvas tote with twin terracotta stripes and "
            "reinforced shoulder handles. An outer patch pocket holds keys or a phone. "
            "Roomy enough for a weekly market run."
        ),
        "price": 2800,
        "on_hand": 18,
    },
    {
        "sku": "FH-CDL-01",
        "slug": "beeswax-candle",
        "title": "Honeycomb Beeswax Pillar Candle",
        "description": (
            "A pure beeswax pillar with a honeycomb texture and a cotton wick. It burns slowly "
            "with a soft golden glow and a faint scent of honey. "
            "Burn time is around 40 hours; saucer not included."
        ),
        "price": 1600,
        "on_hand": 40,
    },
    {
        "sku": "FH-HAT-01",
        "slug": "wool-beanie",
        "title": "Ribbed Wool Pompom Beanie",
        "description": (
            "A warm rib-knit beanie in deep teal wool with a deep turn-up cuff and a cream "
            "pompom. Finished with a small leather patch. One size fits most adults."
        ),
        "price": 3400,
        "on_hand": 3,
    },
    {
        "sku": "FH-CUP-01",
        "slug": "enamel-camp-cup",
        "title": "Speckled Enamel Camp Cup",
        "description": (
            "A classic blue speckled enamel cup that is light to carry and tough enough for "
            "the campfire. Holds about 12 oz of coffee, soup or cocoa. "
            "Enamel can chip if dropped, which only adds character."
        ),
        "price": 1400,
        "on_hand": 0,
    },
    {
        "sku": "FH-POT-01",
        "slug": "cedar-plant-pot",
        "title": "Cedar Slat Planter",
        "description": (
            "A small square planter built from naturally weather-resistant cedar slats, with "
            "a drainage hole in the base. Sized for a 6 in nursery pot, indoors or out. "
            "Plant not included."
        ),
        "price": 3800,
        "on_hand": 12,
    },
    {
        "sku": "FH-WAL-01",
        "slug": "leather-card-wallet",
        "title": "Leather Card Wallet",
        "description": (
            "A slim cognac leather card holder with contrast stitching and a thumb cut-out "
            "for quick access. Holds four to six cards plus a few folded notes. "
            "The leather softens and deepens in colour with use."
        ),
        "price": 4600,
        "on_hand": 2,
    },
    {
        "sku": "FH-BTL-01",
        "slug": "glass-water-bottle",
        "title": "Glass Water Bottle with Sleeve",
        "description": (
            "A 600 ml borosilicate glass bottle with a grippy silicone sleeve and a "
            "leak-resistant wooden cap with carry loop. Glass keeps water tasting clean. "
            "Hand wash the cap."
        ),
        "price": 2600,
        "on_hand": 22,
    },
    {
        "sku": "FH-BRD-01",
        "slug": "wooden-chopping-board",
        "title": "Oak Chopping Board",
        "description": (
            "A solid oak board with a carry handle and hanging hole, large enough for "
            "everyday chopping and handsome enough to serve on. "
            "Oil it now and then and it will last for years."
        ),
        "price": 5400,
        "on_hand": 9,
    },
    {
        "sku": "FH-VAS-01",
        "slug": "hand-thrown-vase",
        "title": "Hand-Thrown Vase (One of a Kind)",
        "description": (
            "A single hand-thrown stoneware vase with a teal glaze flowing over bare clay. "
            "Throwing lines and glaze drips make it truly one of a kind; "
            "once it is gone, it is gone. Watertight for fresh or dried stems."
        ),
        "price": 11800,
        "on_hand": 1,
    },
]
