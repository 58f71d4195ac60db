"""Code lists and single-value checks used by ``tools.validate``.

The ISO lists are shipped here (from Debian's iso-codes 4.x) so validation needs no network
and no extra package; they change a few times a decade.
"""

from __future__ import annotations

import re

# One reader of numbers, dates and container numbers for product and scorer (core/values).
from core.values import (
    container_problem,
    containers_in_text,
    iso6346_check_digit,
    normalize_container,
    parse_date,
    parse_number,
)

__all__ = [
    "COUNTRY_NAMES",
    "INCOTERMS_2020",
    "ISO_3166_ALPHA2",
    "ISO_4217",
    "container_problem",
    "containers_in_text",
    "country_code",
    "iso6346_check_digit",
    "locode_problem",
    "normalize_container",
    "parse_date",
    "parse_number",
]

_ISO_3166_TEXT = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM
ZW
"""

_ISO_4217_TEXT = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR
ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD
MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR
PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF
XCD XDR XOF XPF YER ZAR ZMW ZWL
"""

ISO_3166_ALPHA2 = frozenset(_ISO_3166_TEXT.split())
ISO_4217 = frozenset(_ISO_4217_TEXT.split())
INCOTERMS_2020 = frozenset(
    {"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"}
)

_LOCODE_RE = re.compile(r"^([A-Z]{2})\s?([A-Z2-9]{3})$")


def locode_problem(code: str) -> str | None:
    """None when ``code`` has the UN/LOCODE form (ISO country + 3 characters)."""
    match = _LOCODE_RE.match(code.strip().upper())
    if match is None:
        return "not of the UN/LOCODE form CCLLL (country code + 3 letters/digits 2-9)"
    if match.group(1) not in ISO_3166_ALPHA2:
        return f"{match.group(1)} is not an ISO 3166 country code"
    return None


# English names (iso-codes) and common German, French and Dutch names -> alpha-2.
_COUNTRY_NAMES_TEXT = (
    "Aruba=AW|Afghanistan=AF|Angola=AO|Anguilla=AI|Åland Islands=AX|Albania=AL|Andorra=AD|United "
    "Arab Emirates=AE|Argentina=AR|Armenia=AM|American Samoa=AS|Antarctica=AQ|French Southern "
    "Territories=TF|Antigua and "
    "Barbuda=AG|Australia=AU|Austria=AT|Azerbaijan=AZ|Burundi=BI|Belgium=BE|Benin=BJ|Bonaire, Sint "
    "Eustatius and Saba=BQ|Burkina Faso=BF|Bangladesh=BD|Bulgaria=BG|Bahrain=BH|Bahamas=BS|Bosnia "
    "and Herzegovina=BA|Saint Barthélemy=BL|Belarus=BY|Belize=BZ|Bermuda=BM|Bolivia, Plurinational "
    "State of=BO|Bolivia=BO|Brazil=BR|Barbados=BB|Brunei Darussalam=BN|Bhutan=BT|Bouvet "
    "Island=BV|Botswana=BW|Central African Republic=CF|Canada=CA|Cocos (Keeling) "
    "Islands=CC|Switzerland=CH|Chile=CL|China=CN|Côte d'Ivoire=CI|Cameroon=CM|Congo, The Democratic"
    " Republic of the=CD|Congo=CG|Cook Islands=CK|Colombia=CO|Comoros=KM|Cabo Verde=CV|Costa "
    "Rica=CR|Cuba=CU|Curaçao=CW|Christmas Island=CX|Cayman "
    "Islands=KY|Cyprus=CY|Czechia=CZ|Germany=DE|Djibouti=DJ|Dominica=DM|Denmark=DK|Dominican "
    "Republic=DO|Algeria=DZ|Ecuador=EC|Egypt=EG|Eritrea=ER|Western "
    "Sahara=EH|Spain=ES|Estonia=EE|Ethiopia=ET|Finland=FI|Fiji=FJ|Falkland Islands "
    "(Malvinas)=FK|France=FR|Faroe Islands=FO|Micronesia, Federated States of=FM|Gabon=GA|United "
    "Kingdom=GB|Georgia=GE|Guernsey=GG|Ghana=GH|Gibraltar=GI|Guinea=GN|Guadeloupe=GP|Gambia=GM|Guinea-Bissau=GW|Equatorial"
    " Guinea=GQ|Greece=GR|Grenada=GD|Greenland=GL|Guatemala=GT|French "
    "Guiana=GF|Guam=GU|Guyana=GY|Hong Kong=HK|Heard Island and McDonald "
    "Islands=HM|Honduras=HN|Croatia=HR|Haiti=HT|Hungary=HU|Indonesia=ID|Isle of "
    "Man=IM|India=IN|British Indian Ocean Territory=IO|Ireland=IE|Iran, Islamic Republic "
    "of=IR|Iran=IR|Iraq=IQ|Iceland=IS|Israel=IL|Italy=IT|Jamaica=JM|Jersey=JE|Jordan=JO|Japan=JP|Kazakhstan=KZ|Kenya=KE|Kyrgyzstan=KG|Cambodia=KH|Kiribati=KI|Saint"
    " Kitts and Nevis=KN|Korea, Republic of=KR|South Korea=KR|Kuwait=KW|Lao People's Democratic "
    "Republic=LA|Laos=LA|Lebanon=LB|Liberia=LR|Libya=LY|Saint Lucia=LC|Liechtenstein=LI|Sri "
    "Lanka=LK|Lesotho=LS|Lithuania=LT|Luxembourg=LU|Latvia=LV|Macao=MO|Saint Martin (French "
    "part)=MF|Morocco=MA|Monaco=MC|Moldova, Republic "
    "of=MD|Moldova=MD|Madagascar=MG|Maldives=MV|Mexico=MX|Marshall Islands=MH|North "
    "Macedonia=MK|Mali=ML|Malta=MT|Myanmar=MM|Montenegro=ME|Mongolia=MN|Northern Mariana "
    "Islands=MP|Mozambique=MZ|Mauritania=MR|Montserrat=MS|Martinique=MQ|Mauritius=MU|Malawi=MW|Malaysia=MY|Mayotte=YT|Namibia=NA|New"
    " Caledonia=NC|Niger=NE|Norfolk "
    "Island=NF|Nigeria=NG|Nicaragua=NI|Niue=NU|Netherlands=NL|Norway=NO|Nepal=NP|Nauru=NR|New "
    "Zealand=NZ|Oman=OM|Pakistan=PK|Panama=PA|Pitcairn=PN|Peru=PE|Philippines=PH|Palau=PW|Papua New"
    " Guinea=PG|Poland=PL|Puerto Rico=PR|Korea, Democratic People's Republic of=KP|North "
    "Korea=KP|Portugal=PT|Paraguay=PY|Palestine, State of=PS|French "
    "Polynesia=PF|Qatar=QA|Réunion=RE|Romania=RO|Russian Federation=RU|Rwanda=RW|Saudi "
    "Arabia=SA|Sudan=SD|Senegal=SN|Singapore=SG|South Georgia and the South Sandwich "
    "Islands=GS|Saint Helena, Ascension and Tristan da Cunha=SH|Svalbard and Jan Mayen=SJ|Solomon "
    "Islands=SB|Sierra Leone=SL|El Salvador=SV|San Marino=SM|Somalia=SO|Saint Pierre and "
    "Miquelon=PM|Serbia=RS|South Sudan=SS|Sao Tome and "
    "Principe=ST|Suriname=SR|Slovakia=SK|Slovenia=SI|Sweden=SE|Eswatini=SZ|Sint Maarten (Dutch "
    "part)=SX|Seychelles=SC|Syrian Arab Republic=SY|Syria=SY|Turks and Caicos "
    "Islands=TC|Chad=TD|Togo=TG|Thailand=TH|Tajikistan=TJ|Tokelau=TK|Turkmenistan=TM|Timor-Leste=TL|Tonga=TO|Trinidad"
    " and Tobago=TT|Tunisia=TN|Türkiye=TR|Tuvalu=TV|Taiwan, Province of "
    "China=TW|Taiwan=TW|Tanzania, United Republic of=TZ|Tanzania=TZ|Uganda=UG|Ukraine=UA|United "
    "States Minor Outlying Islands=UM|Uruguay=UY|United States=US|Uzbekistan=UZ|Holy See (Vatican "
    "City State)=VA|Saint Vincent and the Grenadines=VC|Venezuela, Bolivarian Republic "
    "of=VE|Venezuela=VE|Virgin Islands, British=VG|Virgin Islands, U.S.=VI|Viet "
    "Nam=VN|Vietnam=VN|Vanuatu=VU|Wallis and Futuna=WF|Samoa=WS|Yemen=YE|South "
    "Africa=ZA|Zambia=ZM|Zimbabwe=ZW|Deutschland=DE|Allemagne=DE|Duitsland=DE|Germany=DE|Brasilien=BR|Brésil=BR|Brazilië=BR|Niederlande=NL|Pays-Bas=NL|Nederland=NL|Holland=NL|The"
    " Netherlands=NL|Frankreich=FR|Frankrijk=FR|Chine=CN|Volksrepublik China=CN|Korea=KR|South "
    "Korea=KR|Südkorea=KR|Corée du Sud=KR|Zuid-Korea=KR|USA=US|United States of "
    "America=US|Vereinigte Staaten=US|États-Unis=US|Verenigde "
    "Staten=US|Türkei=TR|Turquie=TR|Turkije=TR|Turkey=TR|Indien=IN|Inde=IN|Italien=IT|Italie=IT|Italië=IT|Spanien=ES|Espagne=ES|Spanje=ES|Belgien=BE|Belgique=BE|België=BE|Polen=PL|Pologne=PL|Japon=JP|Großbritannien=GB|Vereinigtes"
    " Königreich=GB|Royaume-Uni=GB|Verenigd Koninkrijk=GB|UK=GB|Great "
    "Britain=GB|Schweiz=CH|Suisse=CH|Zwitserland=CH|Österreich=AT|Autriche=AT|Oostenrijk=AT|Vietnam=VN|Viêt"
    " "
    "Nam=VN|Mexiko=MX|Mexique=MX|Kanada=CA|Marokko=MA|Maroc=MA|Ägypten=EG|Égypte=EG|Egypte=EG|Südafrika=ZA|Afrique"
    " du "
    "Sud=ZA|Zuid-Afrika=ZA|Schweden=SE|Suède=SE|Zweden=SE|Dänemark=DK|Danemark=DK|Denemarken=DK|Norwegen=NO|Norvège=NO|Noorwegen=NO|Tschechien=CZ|Tchéquie=CZ|Tsjechië=CZ|Griechenland=GR|Grèce=GR|Griekenland=GR|Portugal=PT|Irland=IE|Irlande=IE|Ierland=IE|Taiwan=TW|Thailand=TH|Thaïlande=TH|Indonesien=ID|Indonésie=ID|Indonesië=ID|Malaysia=MY|Malaisie=MY|Singapur=SG|Singapour=SG|Chili=CL|Argentinien=AR|Argentine=AR|Argentinië=AR|Kolumbien=CO|Colombie=CO|Peru=PE|Pérou=PE|Australien=AU|Australie=AU|Australië=AU|Neuseeland=NZ|Nouvelle-Zélande=NZ|Nieuw-Zeeland=NZ|Russland=RU|Russie=RU|Rusland=RU|Ukraine=UA|Oekraïne=UA|Rumänien=RO|Roumanie=RO|Roemenië=RO|Ungarn=HU|Hongrie=HU|Hongarije=HU|Finnland=FI|Finlande=FI|Finland=FI|Israel=IL|Israël=IL|Saudi-Arabien=SA|Arabie"
    " saoudite=SA|Vereinigte Arabische Emirate=AE|Émirats arabes "
    "unis=AE|Pakistan=PK|Bangladesch=BD|Sri "
    "Lanka=LK|Kenia=KE|Nigeria=NG|Ghana=GH|Äthiopien=ET|Éthiopie=ET"
)
COUNTRY_NAMES = {
    name.strip().casefold(): code
    for name, _, code in (pair.partition("=") for pair in _COUNTRY_NAMES_TEXT.split("|"))
}


def country_code(text: str) -> str | None:
    """An alpha-2 code for a country name (``Brasilien``, ``Korea, Republic of``), or None."""
    return COUNTRY_NAMES.get(text.strip().casefold())
