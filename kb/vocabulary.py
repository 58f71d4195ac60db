"""Common goods words in German, Dutch and French -> the tariff's English words.

The embedded e5-small model reads short German and Dutch goods words poorly ("Waspoeder",
"Fietsbanden" land among metals), and the tariff titles are English (CN also German and
French; nothing Dutch). ``gloss`` appends the English words of every vocabulary word it
finds, as ``kb/rewrite.py`` does for trade jargon. German and Dutch compounds are matched
by their parts: a word ending in a known noun ("Bürodrehstühle" -> "stühle": chairs) or
starting with a known modifier ("Diepvriesgarnalen" -> "diepvries": frozen).

Written from general knowledge of the goods families of the tariff, chapter by chapter
(not from any evaluation set's misses). Each line: the English words, then the German,
Dutch and French forms (lower case, no accents; ``_`` joins a phrase).
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb.sparse import normalise

_LINES = """
live animals = tiere dieren animaux
cattle = rinder runderen bovins
pigs = schweine varkens porcs
poultry = geflugel pluimvee volailles
meat = fleisch vlees viande
beef = rindfleisch rundvlees boeuf
pork = schweinefleisch varkensvlees
chicken = hahnchen huhn kip kippen poulet
fish = fisch vis poisson poissons
salmon = lachs zalm saumon
tuna = thunfisch tonijn thon
shrimps and prawns = garnelen krabben garnalen crevettes
mussels = muscheln miesmuscheln mosselen moules
oysters = austern oesters huitres
milk = milch melk lait
cheese = kase kaas fromage
butter = butter boter beurre
eggs = eier eieren oeufs
honey = honig honing miel
vegetables = gemuse groenten legumes
potatoes = kartoffeln aardappelen aardappels pommes_de_terre
tomatoes = tomaten tomates
onions = zwiebeln uien oignons
fruit = obst fruchte fruit fruits
apples = apfel appels appel pommes
pears = birnen peren poires
oranges = orangen apfelsinen sinaasappels sinaasappelen
bananas = bananen bananes
grapes = trauben druiven raisins
strawberries = erdbeeren aardbeien fraises
lemons = zitronen citroenen citrons
nuts = nusse noten noix
dried = getrocknet trocken gedroogd gedroogde seches seche
frozen = tiefgekuhlt tiefkuhl gefroren diepvries bevroren surgele surgeles congele congeles
fresh = frisch vers verse frais fraiche
coffee = kaffee koffie cafe
roasted = gerostet rost gebrand gebrande torrefie
tea = thee
pepper = pfeffer peper poivre
spices = gewurze specerijen kruiden epices
rice = reis rijst riz
wheat = weizen tarwe ble
flour = mehl bloem meel farine
sugar = zucker suiker sucre
sugar confectionery, sweets = sussigkeiten bonbons snoep snoepgoed confiserie
chocolate = schokolade chocolade chocolat
biscuits = kekse keks koekjes biscuits
bread = brot brood
pasta = nudeln teigwaren deegwaren pates
jam = marmelade konfiture jam confiture confitures
fruit juice = saft fruchtsaft sap vruchtensap jus
sauces = sossen sosse sauzen saus sauce
soups = suppen soep soepen soupe
soft drinks, waters with added sugar = limonade erfrischungsgetranke frisdrank frisdranken
soft drinks, waters with added sugar = boisson_gazeuse sodas
water = wasser water eau
beer = bier pils biere
wine = wein wijn vin
red wine = rotwein rode_wijn vin_rouge
spirits = spirituosen sterke_drank spiritueux
vinegar = essig azijn vinaigre
olive oil = olivenol olijfolie huile_d_olive
oil = ol olie huile
dog or cat food = hundefutter katzenfutter hondenvoer kattenvoer nourriture_pour_chiens
animal feed = futter tierfutter diervoeder veevoer aliments_pour_animaux
tobacco = tabak tabac
cigarettes = zigaretten sigaretten cigarettes
salt = salz zout sel
cement = zement cement ciment
petroleum oils = erdol benzin diesel aardolie petrole essence gazole
medicaments = arzneimittel medikamente geneesmiddelen medicijnen medicaments
vitamins = vitamine vitaminen vitamines
perfume = parfum parfums
cosmetics, make-up = kosmetik make-up cosmetica maquillage
shampoo = shampoo shampooing
soap = seife zeep savon
washing preparations, detergent = waschmittel waschpulver spulmittel wasmiddel waspoeder
washing preparations, detergent = afwasmiddel lessive detergent
candles = kerzen kaarsen bougies
glue = klebstoff leim lijm colle
paints = farbe farben lack verf peinture
fertilisers = dunger kunstmest meststoffen engrais
plastics = kunststoff kunststof plastik plastique
bags = beutel tuten tasche taschen zak zakken tas tassen sac sacs sachets
sacks = sacke jutesacke zakken sacs
boxes = kisten dozen doos boites caisses
cardboard, paperboard = pappe karton golfkarton carton
paper = papier
toilet paper = toilettenpapier toiletpapier wc-papier papier_toilette papier_hygienique
tissues, napkins = taschentucher servietten zakdoekjes servetten mouchoirs serviettes
notebooks, exercise books = hefte notizbucher schriften schrift cahiers carnets
books = bucher buch boeken boek livres livre
labels = etiketten etiket etiquettes
rubber = rubber caoutchouc
tyres = reifen banden pneus pneu
gloves = handschuhe handschoenen gants
leather = leder leer cuir
handbags = handtaschen handtassen sacs_a_main
suitcases = koffer koffers valises
wood = holz hout bois
plywood = sperrholz multiplex triplex contreplaque
timber = schnittholz bauholz timmerhout bois_de_construction
cork = kork kurk liege
cotton = baumwolle katoen coton
wool = wolle wol laine
silk = seide zijde soie
yarn = garn garen fil
fabrics = stoffe gewebe stof weefsel tissus tissu
knitted = gestrickt gewirkt gebreid gebreide tricot tricote
woven = gewebt geweven tisse
carpets = teppiche teppich tapijt tapijten vloerkleed tapis
clothing = kleidung bekleidung kleding vetements
men's = herren heren homme hommes
women's = damen dames femme femmes
children's, babies' = kinder baby kinderen enfants bebe
t-shirts = t-shirts tshirts
shirts = hemden hemd overhemden overhemd chemises chemise
blouses = blusen bloezen blouses
trousers = hosen broeken broek pantalons pantalon
jeans = jeans spijkerbroeken spijkerbroek
dresses = kleider kleid jurken jurk
skirts = rocke rokken rok jupes jupe
jackets, anoraks = jacken jacke jassen jas vestes veste blousons
coats = mantel mantels manteaux
suits = anzuge kostuums costumes
jerseys, pullovers, sweaters = pullover strickpullover truien trui pulls
underwear = unterwasche ondergoed sous-vetements
socks = socken sokken chaussettes
swimwear = badebekleidung badeanzug badmode maillots_de_bain
towels = handtucher handtuch handdoeken handdoek badhanddoeken serviettes_de_bain
bed linen = bettwasche beddengoed linge_de_lit
blankets = decken dekens couvertures
curtains = vorhange gardinen gordijnen rideaux
footwear, shoes = schuhe schuh schoenen schoen chaussures
boots = stiefel laarzen bottes
sandals = sandalen sandales
hats = hute mutzen hoeden petten chapeaux casquettes
umbrellas = regenschirme schirme paraplus parapluies
ceramic tiles = fliesen kacheln tegels vloertegels wandtegels carrelage
ceramic = keramik keramiek ceramique
porcelain = porzellan porselein porseleinen porcelaine
tableware, crockery = geschirr servies vaisselle
mugs, cups = becher mokken mok kopjes tasses
glass = glas glaswaren glazen verre
bottles = flaschen flasche flessen fles bouteilles bouteille
mirrors = spiegel spiegels miroirs
jewellery = schmuck sieraden bijoux
gold = gold goud
silver = silber zilver argent
iron or steel = eisen stahl edelstahl ijzer staal roestvrij inox acier fer
aluminium = aluminium alu
copper = kupfer koper cuivre
brass = messing laiton
screws, bolts = schrauben bolzen schroeven bouten boulons
nuts (fasteners) = muttern moeren ecrous
nails = nagel spijkers clous
wire = draht draad fil_de_fer
pipes, tubes = rohre rohr buizen buis pijpen tubes tuyaux
tools = werkzeuge werkzeug gereedschap outils
hand tools = handwerkzeuge handgereedschap outils_a_main
knives = messer messen couteaux
scissors = scheren scharen ciseaux
saws = sagen zagen scies
padlocks, locks = schlosser vorhangeschlosser sloten hangsloten cadenas serrures
kitchen utensils, cookware = kochtopfe topfe pfannen kookpannen pannen casseroles poeles
cutlery = besteck bestek couverts
machines = maschinen machines
pumps = pumpen pompen pompes
engines, motors = motoren moteurs
air conditioning = klimaanlage klimaanlagen airco climatiseurs
refrigerators = kuhlschranke kuhlschrank koelkasten koelkast refrigerateurs
washing machines = waschmaschinen wasmachines wasmachine lave-linge
dishwashers = geschirrspuler vaatwassers vaatwasser lave-vaisselle
vacuum cleaners = staubsauger stofzuigers stofzuiger aspirateurs
coffee machines = kaffeemaschinen koffiemachines koffiezetapparaten cafetieres
hair dryers = haartrockner fohn fohns fohnen haardrogers seche-cheveux
electric shavers = rasierapparate scheerapparaten rasoirs
computers = computer computers ordinateurs
laptops = laptops ordinateurs_portables
printers = drucker printers imprimantes
telephones, mobile phones = telefone handys telefoons mobiele_telefoons telephones portables
televisions = fernseher fernsehgerate televisies televiseurs
cameras = kameras camera appareils_photo
headphones = kopfhorer koptelefoons hoofdtelefoons ecouteurs casques
loudspeakers = lautsprecher luidsprekers haut-parleurs enceintes
batteries = batterien akkus batterijen accus piles batteries
cables = kabel kabels cables
lamps, lighting = lampen leuchten lampe lampes verlichting luminaires
led lamps = led-lampen ledlampen
solar panels = solarmodule solarpanele zonnepanelen panneaux_solaires
cars = autos pkw personenwagen personenauto voitures
trucks, lorries = lkw lastwagen vrachtwagens camions
bicycles = fahrrader fahrrad fietsen fiets velos velo
motorcycles = motorrader motorfietsen motos
vehicle parts = autoteile ersatzteile auto-onderdelen pieces_detachees
boats = boote boten bateaux
aircraft = flugzeuge vliegtuigen avions
drones = drohnen drones
spectacles, sunglasses = brillen sonnenbrillen zonnebrillen lunettes
watches = uhren armbanduhren horloges montres
clocks = wanduhren klokken pendules
musical instruments = musikinstrumente muziekinstrumenten instruments_de_musique
guitars = gitarren gitaren guitares
pianos = klaviere piano pianos
furniture = mobel moebel meubelen meubels meubles
chairs = stuhle stuhl stoelen stoel chaises chaise
seats = sitze sessel zetels fauteuils sieges
sofas = sofas banken canapes canape
tables = tische tisch tafels tafel tables
beds = betten bed bedden lits
mattresses = matratzen matrassen matelas
cupboards, cabinets = schranke kasten armoires
office = buro kantoor bureau
kitchen = kuche keuken cuisine
bedroom = schlafzimmer slaapkamer chambre
garden = garten tuin jardin
toys = spielzeug spielwaren speelgoed jouets jouet
dolls = puppen poppen poupees
games = spiele spellen jeux
puzzles = puzzles puzzels
sports equipment = sportartikel sportgerate sportartikelen articles_de_sport
balls = balle ballen bal ballons
bicycles helmets = fahrradhelme fietshelmen
fishing rods = angelruten angeln hengels hengel cannes_a_peche
skis = skier ski skis
tents = zelte tenten tentes
brushes = bursten borstels brosses
toothbrushes = zahnbursten tandenborstels brosses_a_dents
pens = kugelschreiber stifte pennen balpennen stylos
pencils = bleistifte potloden crayons
lighters = feuerzeuge aanstekers briquets
nappies, diapers = windeln luiers couches
sanitary towels = damenbinden maandverband serviettes_hygieniques
vacuum flasks = thermosflaschen isolierflaschen thermosflessen thermoskannen bouteilles_isothermes
"""

_COMPOUND_MIN = 5  # a DE/NL key of this length or more also matches inside compounds


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[dict[str, str], re.Pattern[str], list[tuple[str, str]]]:
    words: dict[str, str] = {}
    for line in _LINES.strip().splitlines():
        english, _, forms = line.partition(" = ")
        for form in forms.split():
            words.setdefault(form.replace("_", " "), english.strip())
    phrases = sorted(words, key=len, reverse=True)
    pattern = re.compile(r"(?<![a-z])(" + "|".join(re.escape(p) for p in phrases) + r")(?![a-z])")
    # compound parts: not a word that is its own English ("tables" in "vegetables")
    parts = [
        (w, e)
        for w, e in words.items()
        if len(w) >= _COMPOUND_MIN and " " not in w and w not in re.findall(r"[a-z-]+", e)
    ]
    return words, pattern, parts


def english(text: str) -> list[str]:
    """The English words of the vocabulary words (and compound parts) found in ``text``."""
    words, pattern, parts = _vocabulary()
    folded = normalise(text)
    found: list[str] = []
    for match in pattern.finditer(folded):
        found.append(words[match.group(1)])
    for token in re.findall(r"[a-z][a-z-]{6,}", folded):
        if token in words:
            continue
        for piece in re.split(r"-", token):
            for word, meaning in parts:
                if (
                    piece != word
                    and len(piece) > len(word)
                    and (piece.endswith(word) or piece.startswith(word))
                ):
                    found.append(meaning)
    out: list[str] = []
    for meaning in found:
        if meaning not in out and meaning.split(",")[0] not in folded:
            out.append(meaning)
    return out


def gloss(text: str) -> str:
    """``text`` plus the English words of the goods words it names in DE/NL/FR."""
    found = english(text)
    return f"{text}; {', '.join(found)}" if found else text
