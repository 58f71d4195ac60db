"""Plausible trading companies with addresses in the formats of their countries."""

# ruff: noqa: E501  (data tables read best one entry per line)
from __future__ import annotations

import random
from dataclasses import dataclass

from core.records import Party


@dataclass(frozen=True)
class _Style:
    names: tuple[str, ...]
    trades: tuple[str, ...]
    forms: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (postcode pattern, city)
    number_first: bool = False
    city_in_name: bool = False  # Chinese firms carry their city: "Ningbo Haitian ... Co., Ltd."


# fmt: off
_STYLES: dict[str, _Style] = {
    "NL": _Style(
        ("Van Dijk", "De Vries", "Bakker", "Jansen", "Visser", "Smit", "Mulder", "Van Leeuwen"),
        ("Trading", "Logistics", "Techniek", "Import", "Food Group", "Handelsonderneming"),
        ("B.V.", "B.V.", "N.V."),
        ("Waalhaven Oostzijde", "Keizersgracht", "Industrieweg", "Havenstraat", "Marconistraat"),
        (("3089 KH", "Rotterdam"), ("1017 DD", "Amsterdam"), ("5928 LZ", "Venlo"), ("5048 AB", "Tilburg")),
    ),
    "DE": _Style(
        ("Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch"),
        ("Maschinenbau", "Handels", "Logistik", "Elektrotechnik", "Lebensmittel", "Textil"),
        ("GmbH", "GmbH & Co. KG", "AG"),
        ("Hafenstraße", "Industriestraße", "Am Sandtorkai", "Königsallee", "Gutenbergring"),
        (("20457", "Hamburg"), ("47119", "Duisburg"), ("80331", "München"), ("60311", "Frankfurt am Main")),
    ),
    "BE": _Style(
        ("Peeters", "Janssens", "Maes", "Jacobs", "Dubois", "Lambert"),
        ("Trading", "Logistics", "Distribution", "Chemicals"),
        ("NV", "BV", "SA", "SRL"),
        ("Noorderlaan", "Kaaiplein", "Rue de la Loi", "Industrielaan"),
        (("2030", "Antwerpen"), ("8380", "Zeebrugge"), ("1000", "Bruxelles")),
    ),
    "FR": _Style(
        ("Dupont", "Martin", "Bernard", "Moreau", "Laurent", "Girard", "Rousseau"),
        ("Import Export", "Distribution", "Industries", "Négoce", "Logistique"),
        ("SAS", "SARL", "SA"),
        ("Quai de Southampton", "Rue de la République", "Avenue Jean Jaurès", "Boulevard de Strasbourg"),
        (("76600", "Le Havre"), ("13270", "Fos-sur-Mer"), ("75008", "Paris"), ("69002", "Lyon")),
        number_first=True,
    ),
    "GB": _Style(
        ("Harrison", "Clarke", "Walker", "Wright", "Thompson", "Hughes"),
        ("Trading", "Imports", "Engineering", "Supplies", "Distribution"),
        ("Ltd", "Ltd", "PLC"),
        ("Dock Road", "Station Road", "High Street", "Viking Way"),
        (("IP11 3TW", "Felixstowe"), ("SO14 3QN", "Southampton"), ("M17 1DA", "Manchester")),
        number_first=True,
    ),
    "US": _Style(
        ("Anderson", "Miller", "Johnson", "Carter", "Parker", "Reed"),
        ("Industries", "Supply", "Trading", "Foods", "Manufacturing"),
        ("Inc.", "LLC", "Corp."),
        ("Harbor Blvd", "Commerce Street", "Industrial Pkwy", "Broadway"),
        (("NY 10004", "New York"), ("CA 90731", "Los Angeles"), ("GA 31401", "Savannah")),
        number_first=True,
    ),
    "CN": _Style(
        ("Hengli", "Haitian", "Jiaxin", "Ocean Star", "Tianyi", "Huamao"),
        ("Industrial", "Electronics", "Textile", "Import & Export", "Machinery"),
        ("Co., Ltd.",),
        ("Jiangnan Road", "Binhai Avenue", "Keyuan Road", "Huaihai Road"),
        (("315800", "Ningbo"), ("518083", "Shenzhen"), ("266000", "Qingdao"), ("200120", "Shanghai")),
        number_first=True,
        city_in_name=True,
    ),
    "IN": _Style(
        ("Sharma", "Patel", "Reddy", "Gupta", "Mehta"),
        ("Exports", "Textiles", "Pharma", "Engineering"),
        ("Pvt. Ltd.", "Ltd."),
        ("MIDC Road", "Ring Road", "Nehru Place"),
        (("400703", "Navi Mumbai"), ("600001", "Chennai")),
        number_first=True,
    ),
    "VN": _Style(
        ("Saigon", "Thanh Cong", "Hoang Long", "Viet Phat"),
        ("Garment", "Seafood", "Furniture", "Footwear"),
        ("JSC", "Co., Ltd."),
        ("Nguyen Van Linh", "Le Loi", "Tran Phu"),
        (("700000", "Ho Chi Minh City"), ("180000", "Haiphong")),
        number_first=True,
    ),
    "TR": _Style(
        ("Yılmaz", "Demir", "Kaya", "Aydın", "Öztürk"),
        ("Tekstil", "Gıda", "Makina", "Dış Ticaret"),
        ("A.Ş.", "Ltd. Şti."),
        ("Atatürk Caddesi", "Liman Yolu", "Organize Sanayi"),
        (("34000", "Istanbul"), ("33000", "Mersin")),
    ),
    "IT": _Style(
        ("Rossi", "Bianchi", "Ferrari", "Esposito", "Romano"),
        ("Alimentari", "Meccanica", "Ceramiche", "Moda"),
        ("S.p.A.", "S.r.l."),
        ("Via Roma", "Via Garibaldi", "Corso Italia"),
        (("16126", "Genova"), ("41049", "Sassuolo"), ("20121", "Milano")),
    ),
    "ES": _Style(
        ("García", "Fernández", "López", "Martínez"),
        ("Alimentación", "Cerámica", "Logística"),
        ("S.L.", "S.A."),
        ("Calle Mayor", "Avenida del Puerto", "Calle de Alcalá"),
        (("46024", "Valencia"), ("11201", "Algeciras")),
    ),
    "PL": _Style(
        ("Kowalski", "Nowak", "Wiśniewski", "Zieliński"),
        ("Logistyka", "Meble", "Trading"),
        ("Sp. z o.o.", "S.A."),
        ("ul. Portowa", "ul. Marszałkowska", "ul. Przemysłowa"),
        (("80-601", "Gdańsk"), ("00-001", "Warszawa")),
    ),
    "JP": _Style(
        ("Tanaka", "Yamamoto", "Sato", "Suzuki"),
        ("Trading", "Electric", "Industries"),
        ("Co., Ltd.", "K.K."),
        ("Minato-ku Shiba", "Chuo-ku Nihonbashi"),
        (("105-0014", "Tokyo"),),
        number_first=True,
    ),
    "KR": _Style(
        ("Hanil", "Daesung", "Samhwa", "Kumho"),
        ("Industrial", "Electronics", "Trading"),
        ("Co., Ltd.",),
        ("Jungang-daero", "Haeundae-ro"),
        (("48939", "Busan"),),
        number_first=True,
    ),
    "BR": _Style(
        ("Silva", "Souza", "Oliveira", "Pereira"),
        ("Alimentos", "Comércio Exterior", "Café"),
        ("Ltda.", "S.A."),
        ("Avenida Ana Costa", "Rua XV de Novembro"),
        (("11060-002", "Santos"),),
    ),
    "CH": _Style(
        ("Keller", "Huber", "Meier", "Brunner"),
        ("Uhren", "Chemie", "Handels"),
        ("AG", "GmbH"),
        ("Bahnhofstrasse", "Hafenstrasse"),
        (("8001", "Zürich"), ("4057", "Basel")),
    ),
    "SG": _Style(
        ("Lim", "Tan", "Ng", "Wong"),
        ("Trading", "Marine", "Supply"),
        ("Pte. Ltd.",),
        ("Pasir Panjang Road", "Tanjong Pagar Road"),
        (("118480", "Singapore"),),
        number_first=True,
    ),
}
# fmt: on


def make_party(rng: random.Random, country: str) -> Party:
    style = _STYLES[country]
    name = f"{rng.choice(style.names)} {rng.choice(style.trades)} {rng.choice(style.forms)}"
    street = rng.choice(style.streets)
    number = rng.randint(1, 240)
    line1 = f"{number} {street}" if style.number_first else f"{street} {number}"
    postcode, city = rng.choice(style.cities)
    if style.city_in_name:
        name = f"{city} {name}"
    return Party(name=name, address=f"{line1}, {postcode} {city}", country=country)
