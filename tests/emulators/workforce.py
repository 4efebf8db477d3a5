# ruff: noqa: RUF001 - the name pools are deliberately written in many scripts
"""A synthetic, seeded Deel workforce: person objects exactly as `GET /rest/v2/people` returns them.

Tests, the demo and the benchmark need thousands of realistic workers, including the awkward ones
a real directory holds: names in many scripts, identical names, workers without a work email,
re-hires that share an address, people whose first contract ended. Everything is drawn from one
`random.Random(seed)`, so the same seed and size always give the same workforce.

Opt-in (`effective_dates=EffectiveDates(today=...)`): future starters, leavers whose last day is
ahead or already over, and time zones from every corner (UTC+14, UTC-11, abbreviations such as
EST, CET, IST), for effective dating (docs/effective-dates.md). They come from a random stream of
their
own, applied after everything else, so a workforce generated without them is unchanged.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import gc
import itertools
import random
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

Person = dict[str, Any]

# The generated data is "as of" this day: start dates after it are future (onboarding) hires.
AS_OF = dt.date(2025, 7, 1)
_EPOCH = dt.date(2017, 1, 1)
_DAYS = [
    (_EPOCH + dt.timedelta(days=i)).isoformat() for i in range((dt.date(2026, 6, 30) - _EPOCH).days)
]
_AS_OF_INDEX = (AS_OF - _EPOCH).days
_BIRTH_FIRST = dt.date(1960, 1, 1).toordinal()

# hiring_status values and how they map onto person_status.
ACTIVE_STATUS = "active"
INACTIVE_STATUS = "inactive"
ONBOARDING_STATUSES = ("onboarding", "onboarding_at_risk", "onboarding_overdue")
PRE_CONTRACT_STATUSES = ("invited", "draft")
PERSON_STATUS = {
    "active": "ACTIVE",
    "inactive": "INACTIVE",
    "onboarding": "NOT_STARTED",
    "onboarding_at_risk": "NOT_STARTED",
    "onboarding_overdue": "NOT_STARTED",
    "invited": "NOT_STARTED",
    "draft": "NOT_STARTED",
}
HIRING_TYPES = ("eor", "contractor", "hris_direct_employee", "direct_employee")
DIRECT_TYPES = frozenset({"hris_direct_employee", "direct_employee"})

# -- name pools ----------------------------------------------------------------------------------
# One culture per tuple: country, currency, first names, last names, places. A name written in a
# non-Latin script carries its usual Latin spelling after a "|" (used for the work email only).
# Places: (locality, region, postal code, IANA timezone).


@dataclass(frozen=True)
class _Culture:
    key: str
    country: str
    currency: str
    weight: int
    first: tuple[tuple[str, str], ...]
    last: tuple[tuple[str, str], ...]
    places: tuple[tuple[str, str, str, str], ...]
    streets: tuple[str, ...]


def _names(text: str) -> tuple[tuple[str, str], ...]:
    out = []
    for item in text.split(";"):
        native, _, latin = item.strip().partition("|")
        out.append((native, latin or native))
    return tuple(out)


# fmt: off
_CULTURE_DATA: list[tuple[str, str, str, int, str, str, str, str]] = [
    ("us", "US", "USD", 18,
     ("James;Olivia;Michael;Emma;Ethan;Ava;Noah;Sophia;Liam;Mia;Aiden;Harper;Elijah;Chloe;Mary;"
      "John;Jennifer;Robert;Zoë;Anne-Marie;Mary Kate;DeShawn"),
     ("Smith;Johnson;Williams;Brown;Jones;Miller;Davis;Wilson;Anderson;Taylor;Thomas;Moore;"
      "Martin;Jackson;White;Harris;Clark;O'Neil;Smith-Jones;McDonald;St. John"),
     ("New York,NY,10001,America/New_York;San Francisco,CA,94105,America/Los_Angeles;"
      "Austin,TX,73301,America/Chicago;Chicago,IL,60601,America/Chicago;"
      "Seattle,WA,98101,America/Los_Angeles;Denver,CO,80202,America/Denver"),
     "Main St;Oak Ave;Maple Dr;Cedar Ln;Pine St;Elm St"),
    ("gb", "GB", "GBP", 6,
     "Oliver;Amelia;George;Isla;Harry;Poppy;Jack;Freya;Charlotte;William;Anne-Marie",
     "Jones;Evans;Hughes;Wright;Roberts;Hall;Green;Smith-Jones;Ashworth;Fairclough",
     ("London,ENG,EC1A 1BB,Europe/London;Manchester,ENG,M1 1AE,Europe/London;"
      "Edinburgh,SCT,EH1 1YZ,Europe/London"),
     "High Street;Station Road;Church Lane;Victoria Road"),
    ("ie", "IE", "EUR", 2,
     "Siobhán;Seán;Aoife;Niamh;Ciarán;Pádraig;Eoin;Róisín",
     "O'Brien;O'Sullivan;Ó Briain;McCarthy;Murphy;Kelly;O'Connor;Fitzgerald",
     "Dublin,D,D02 X285,Europe/Dublin;Cork,CO,T12 W8CX,Europe/Dublin",
     "Grafton Street;Dame Street;Patrick Street"),
    ("es", "ES", "EUR", 6,
     "José;María José;Lucía;Álvaro;Sofía;Javier;Martín;Inés;Andrés;Carmen;Maria",
     ("García;Fernández;López;Martínez;Rodríguez;Sánchez;Pérez;Gómez;de la Cruz;García-López;"
      "Muñoz;Garcia"),
     ("Madrid,MD,28001,Europe/Madrid;Barcelona,CT,08001,Europe/Madrid;"
      "Sevilla,AN,41001,Europe/Madrid"),
     "Calle Mayor;Gran Vía;Calle de Alcalá;Passeig de Gràcia"),
    ("mx", "MX", "MXN", 5,
     "María;José Luis;Guadalupe;Juan Pablo;Ximena;Diego;Valentina;Santiago;Maria",
     "Hernández;González;Ramírez;Flores;de la Cruz;Cruz;Morales;Reyes;Garcia",
     ("Ciudad de México,CMX,06600,America/Mexico_City;Guadalajara,JAL,44100,America/Mexico_City;"
      "Monterrey,NLE,64000,America/Monterrey"),
     "Avenida Reforma;Calle Madero;Avenida Juárez"),
    ("br", "BR", "BRL", 7,
     "João;Ana Clara;Luíza;Thiago;Beatriz;Letícia;Vinícius;Gabriel;Júlia",
     "Silva;Santos;Oliveira;Souza;Conceição;Gonçalves;Araújo;da Silva;dos Santos",
     ("São Paulo,SP,01000-000,America/Sao_Paulo;Rio de Janeiro,RJ,20000-000,America/Sao_Paulo;"
      "Belo Horizonte,MG,30100-000,America/Sao_Paulo"),
     "Avenida Paulista;Rua Augusta;Rua das Flores"),
    ("fr", "FR", "EUR", 5,
     "Anne-Marie;Jean-Luc;Chloé;Benoît;Élodie;François;Hélène;Théo;Zoé;Maëlle",
     "Dubois;Lefèvre;Moreau;Laurent;Girard;Rousseau;Côté;D'Amour;Saint-Étienne",
     "Paris,IDF,75001,Europe/Paris;Lyon,ARA,69001,Europe/Paris;Lille,HDF,59000,Europe/Paris",
     "Rue de Rivoli;Boulevard Haussmann;Rue Victor Hugo"),
    ("de", "DE", "EUR", 6,
     "Jürgen;Lukas;Sophie;Maximilian;Jörg;Katharina;Björn;Leonie;Uwe;Zoë",
     "Müller;Schmidt;Schneider;Fischer;Weiß;Groß;Köhler;Schäfer;von Bülow",
     ("Berlin,BE,10115,Europe/Berlin;München,BY,80331,Europe/Berlin;"
      "Hamburg,HH,20095,Europe/Berlin"),
     "Hauptstraße;Schillerstraße;Goethestraße;Bahnhofstraße"),
    ("nl", "NL", "EUR", 3,
     "Pieter;Sanne;Daan;Femke;Joris;Anouk;Bram;Lotte",
     "van der Berg;de Vries;van Dijk;Bakker;Jansen;de Jong;van den Heuvel;Visser",
     "Amsterdam,NH,1011 AB,Europe/Amsterdam;Rotterdam,ZH,3011 AA,Europe/Amsterdam",
     "Keizersgracht;Prinsengracht;Coolsingel"),
    ("pl", "PL", "PLN", 5,
     "Łukasz;Małgorzata;Paweł;Zofia;Wojciech;Agnieszka;Michał;Krzysztof;Joanna;Grzegorz",
     "Wójcik;Kowalski;Nowak;Wiśniewski;Dąbrowski;Lewandowski;Zieliński;Szymańska;Kamiński",
     ("Warszawa,MZ,00-001,Europe/Warsaw;Kraków,MA,30-001,Europe/Warsaw;"
      "Wrocław,DS,50-001,Europe/Warsaw"),
     "ulica Marszałkowska;ulica Floriańska;ulica Świdnicka"),
    ("dk", "DK", "DKK", 2,
     "Søren;Mette;Lærke;Frederik;Astrid;Mads;Ida;Bjørn",
     "Ærø;Sørensen;Østergaard;Kjær;Mørk;Nielsen;Jørgensen",
     "København,84,1050,Europe/Copenhagen;Aarhus,82,8000,Europe/Copenhagen",
     "Strøget;Nørregade;Østergade"),
    ("is", "IS", "ISK", 1,
     "Þór;Guðrún;Sigurður;Ásdís;Ragnar;Hildur",
     "Þórsdóttir;Jónsson;Guðmundsdóttir;Sigurðsson;Ólafsson",
     "Reykjavík,1,101,Atlantic/Reykjavik",
     "Laugavegur;Skólavörðustígur"),
    ("it", "IT", "EUR", 4,
     "Marco;Giulia;Alessandro;Chiara;Niccolò;Francesca;Matteo;Martina",
     "D'Angelo;Rossi;Bianchi;Romano;Esposito;Colombo;De Luca;Ricci;Dell'Acqua",
     "Milano,MI,20121,Europe/Rome;Roma,RM,00118,Europe/Rome;Torino,TO,10121,Europe/Rome",
     "Via Roma;Corso Vittorio Emanuele;Via Garibaldi"),
    ("vn", "VN", "VND", 3,
     "Văn An;Thị Hoa;Minh Tuấn;Thu Trang;Quốc Bảo;Ngọc Ánh",
     "Nguyễn;Trần;Lê;Phạm;Hoàng;Đặng;Vũ",
     "Hồ Chí Minh,SG,700000,Asia/Ho_Chi_Minh;Hà Nội,HN,100000,Asia/Ho_Chi_Minh",
     "Đường Lê Lợi;Đường Nguyễn Huệ"),
    ("cn", "CN", "CNY", 4,
     "伟|Wei;芳|Fang;娜|Na;敏|Min;静|Jing;磊|Lei;洋|Yang;婷|Ting",
     "王|Wang;李|Li;张|Zhang;刘|Liu;陈|Chen;杨|Yang;黄|Huang;赵|Zhao",
     "上海,SH,200000,Asia/Shanghai;北京,BJ,100000,Asia/Shanghai;深圳,GD,518000,Asia/Shanghai",
     "南京路;长安街;深南大道"),
    ("ru", "RS", "RSD", 3,
     ("Дмитрий|Dmitry;Анна|Anna;Сергей|Sergey;Екатерина|Ekaterina;Алексей|Alexey;Ольга|Olga;"
      "Никита|Nikita;Юлия|Yulia"),
     ("Иванов|Ivanov;Смирнова|Smirnova;Кузнецов|Kuznetsov;Попова|Popova;Соколов|Sokolov;"
      "Волкова|Volkova"),
     "Beograd,00,11000,Europe/Belgrade;Novi Sad,VO,21000,Europe/Belgrade",
     "Knez Mihailova;Bulevar Oslobođenja"),
    ("ar", "AE", "AED", 3,
     ("محمد|Mohammed;فاطمة|Fatima;أحمد|Ahmed;ليلى|Layla;يوسف|Youssef;مريم|Maryam;عمر|Omar;"
      "نور|Nour"),
     "العلي|Al-Ali;حسن|Hassan;الهاشمي|Al-Hashimi;عبدالله|Abdullah;السيد|El-Sayed;خليل|Khalil",
     "Dubai,DU,00000,Asia/Dubai;Abu Dhabi,AZ,00000,Asia/Dubai",
     "Sheikh Zayed Road;Al Wasl Road"),
    ("kr", "KR", "KRW", 3,
     "민준|Minjun;서연|Seoyeon;지훈|Jihoon;하은|Haeun;도윤|Doyoon;수빈|Subin",
     "김|Kim;이|Lee;박|Park;최|Choi;정|Jung;강|Kang",
     "서울,11,04524,Asia/Seoul;부산,26,48058,Asia/Seoul",
     "세종대로;테헤란로"),
    ("gr", "GR", "EUR", 2,
     ("Αλέξανδρος|Alexandros;Μαρία|Maria;Γιώργος|Giorgos;Ελένη|Eleni;Νίκος|Nikos;"
      "Κατερίνα|Katerina"),
     ("Παπαδόπουλος|Papadopoulos;Παπαδοπούλου|Papadopoulou;Οικονόμου|Oikonomou;"
      "Γεωργίου|Georgiou;Νικολάου|Nikolaou"),
     "Αθήνα,I,105 57,Europe/Athens;Θεσσαλονίκη,B,546 21,Europe/Athens",
     "Οδός Ερμού;Λεωφόρος Συγγρού"),
    ("jp", "JP", "JPY", 3,
     "健|Ken;陽菜|Hina;翔太|Shota;美咲|Misaki;大輝|Daiki;結衣|Yui",
     "佐藤|Sato;鈴木|Suzuki;高橋|Takahashi;田中|Tanaka;渡辺|Watanabe;伊藤|Ito",
     "東京,13,100-0001,Asia/Tokyo;大阪,27,530-0001,Asia/Tokyo",
     "銀座;表参道"),
    ("in", "IN", "INR", 8,
     "Aarav;Priya;Vihaan;Ananya;Arjun;Diya;Rohan;Kavya;Sai Krishna",
     "Sharma;Patel;Iyer;Reddy;Nair;Gupta;Raman;Venkataraman;Das",
     ("Bengaluru,KA,560001,Asia/Kolkata;Mumbai,MH,400001,Asia/Kolkata;"
      "Pune,MH,411001,Asia/Kolkata"),
     "MG Road;Brigade Road;Linking Road"),
    ("ng", "NG", "NGN", 4,
     "Amara;Chinedu;Ngozi;Oluwaseun;Adaeze;Emeka;Folake;Ifeanyi",
     "Okafor;Adeyemi;Okonkwo;Eze;Balogun;Nwosu;Abubakar",
     "Lagos,LA,101001,Africa/Lagos;Abuja,FC,900001,Africa/Lagos",
     "Marina Road;Allen Avenue;Adeola Odeku Street"),
    ("tr", "TR", "TRY", 3,
     "Çağla;Emre;Şule;Oğuz;Gülşen;İbrahim;Ayşe;Barış",
     "Yılmaz;Kaya;Demir;Şahin;Çelik;Öztürk;Aydın",
     "İstanbul,34,34000,Europe/Istanbul;Ankara,06,06000,Europe/Istanbul",
     "İstiklal Caddesi;Bağdat Caddesi"),
    ("ph", "PH", "PHP", 3,
     "Maria Cristina;Jose Miguel;Angelica;Mark Anthony;Ma. Luisa",
     "dela Cruz;de la Cruz;Santos;Reyes;Bautista;Villanueva",
     "Manila,00,1000,Asia/Manila;Cebu City,CEB,6000,Asia/Manila",
     "Ayala Avenue;Roxas Boulevard"),
    ("za", "ZA", "ZAR", 2,
     "Thabo;Lerato;Sipho;Naledi;Pieter",
     "van der Merwe;Nkosi;Dlamini;Botha;Mokoena",
     "Cape Town,WC,8001,Africa/Johannesburg;Johannesburg,GP,2001,Africa/Johannesburg",
     "Long Street;Jan Smuts Avenue"),
    ("cz", "CZ", "CZK", 2,
     "Jiří;Tereza;Ondřej;Kateřina;Tomáš;Lucie",
     "Dvořák;Novák;Svoboda;Černá;Procházka;Kučera",
     "Praha,10,110 00,Europe/Prague;Brno,64,602 00,Europe/Prague",
     "Václavské náměstí;Národní"),
]
# fmt: on

CULTURES: tuple[_Culture, ...] = tuple(
    _Culture(
        key,
        country,
        currency,
        weight,
        _names(first),
        _names(last),
        tuple(tuple(place.split(",")) for place in places.split(";")),  # type: ignore[misc]
        tuple(streets.split(";")),
    )
    for key, country, currency, weight, first, last, places, streets in _CULTURE_DATA
)
_CULTURE_BY_KEY = {c.key: c for c in CULTURES}
_CULTURE_BY_COUNTRY = {c.country: c for c in CULTURES}
_CULTURE_CUM = list(itertools.accumulate(c.weight for c in CULTURES))


def _weighted(rng: random.Random, items: Sequence[Any], cum: list[int]) -> Any:
    """`rng.choices(items, cum_weights=cum)[0]` without the per-call overhead."""
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


# -- organisation pools --------------------------------------------------------------------------

# parent department -> leaf department -> (weight, teams, roles)
_DEPARTMENTS: dict[str, dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]]] = {
    "Product & Technology": {
        "Engineering": (
            30,
            ("Platform", "Payments", "Mobile", "Infrastructure", "Security"),
            (
                "Software Engineer",
                "Backend Engineer",
                "Frontend Engineer",
                "Site Reliability Engineer",
                "Security Engineer",
                "QA Engineer",
            ),
        ),
        "Product": (5, ("Core Product", "Growth"), ("Product Manager", "Product Analyst")),
        "Design": (4, ("Design Systems",), ("Product Designer", "UX Researcher")),
        "Data": (
            6,
            ("Data Platform", "Analytics"),
            ("Data Engineer", "Data Scientist", "Analytics Engineer"),
        ),
    },
    "Go-To-Market": {
        "Sales": (
            12,
            ("Enterprise Sales", "SMB Sales", "Sales Engineering"),
            ("Account Executive", "Sales Development Representative", "Solutions Engineer"),
        ),
        "Marketing": (
            6,
            ("Brand", "Demand Generation"),
            ("Marketing Manager", "Content Strategist", "Growth Marketer"),
        ),
        "Customer Success": (
            14,
            ("Support EMEA", "Support Americas", "Support APAC"),
            ("Customer Support Specialist", "Customer Success Manager"),
        ),
    },
    "Operations": {
        "Finance": (5, ("Accounting", "FP&A"), ("Accountant", "Financial Analyst")),
        "People": (
            5,
            ("Talent Acquisition", "People Ops"),
            ("Recruiter", "People Partner", "HR Generalist"),
        ),
        "Legal": (2, ("Legal & Compliance",), ("Legal Counsel", "Compliance Analyst")),
        "IT": (3, ("IT Operations",), ("IT Administrator", "IT Support Engineer")),
    },
}

_SENIORITY = (
    ("Junior", "Junior (Individual Contributor Level 1)", 15),
    ("", "Mid (Individual Contributor Level 2)", 35),
    ("Senior", "Senior (Individual Contributor Level 3)", 30),
    ("Lead", "Lead (Individual Contributor Level 4)", 12),
    ("Principal", "Principal (Individual Contributor Level 5)", 4),
)
_SENIORITY_CUM = list(itertools.accumulate(s[2] for s in _SENIORITY))
_MANAGER_SENIORITY = "Manager (Manager Level 1)"
_DIRECTOR_SENIORITY = "Director (Manager Level 2)"
_EXECUTIVE_SENIORITY = "Executive (Manager Level 4)"

# (country, name suffix, entity subtype, office label or None)
_ENTITIES = (
    ("US", "Inc.", "corporation", "New York HQ"),
    ("GB", "Ltd", "private_limited_company", "London Office"),
    ("DE", "GmbH", "gmbh", "Berlin Office"),
    ("BR", "Brasil Ltda.", "limitada", "São Paulo Office"),
    ("PL", "Polska Sp. z o.o.", "spolka_z_oo", "Warsaw Office"),
    ("IN", "India Pvt. Ltd.", "private_limited_company", "Bengaluru Office"),
)
_LOCATIONS = (
    "Remote",
    "New York HQ",
    "San Francisco Office",
    "London Office",
    "Berlin Office",
    "São Paulo Office",
    "Warsaw Office",
    "Bengaluru Office",
)
_PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "proton.me", "yahoo.com", "icloud.com")
_RATES = {  # currency -> (monthly salary low, high); contractors bill hourly around 1/150th
    "USD": (6000, 16000),
    "GBP": (4000, 10000),
    "EUR": (3500, 9500),
    "MXN": (40000, 120000),
    "BRL": (9000, 30000),
    "PLN": (12000, 35000),
    "DKK": (40000, 80000),
    "ISK": (700000, 1400000),
    "VND": (30000000, 90000000),
    "CNY": (20000, 60000),
    "RSD": (200000, 600000),
    "AED": (15000, 45000),
    "KRW": (4000000, 10000000),
    "JPY": (400000, 1100000),
    "INR": (100000, 450000),
    "NGN": (600000, 2500000),
    "TRY": (60000, 200000),
    "PHP": (50000, 180000),
    "ZAR": (35000, 110000),
    "CZK": (60000, 150000),
}
_CONTRACTOR_NAMES = ("Fixed-Rate", "Pay-As-You-Go", "Milestone")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_FOLD = str.maketrans(
    {
        "ł": "l",
        "Ł": "L",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "Ae",
        "ß": "ss",
        "þ": "th",
        "Þ": "Th",
        "ð": "d",
        "Ð": "D",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "œ": "oe",
        "Œ": "Oe",
    }
)


@functools.lru_cache(maxsize=4096)
def email_local(text: str) -> str:
    """Fold a Latin name to the letters a mailbox name keeps: `Łukasz D'Angelo` -> `lukaszdangelo`.

    Used for generated work and personal addresses only; the target has its own username rules.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in folded.lower() if ch.isascii() and (ch.isalnum() or ch == "-"))


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """`str(uuid.UUID(int=rng.getrandbits(128), version=4))`, without the object (hot path)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _below(rng: random.Random, n: int) -> int:
    """A number in [0, n): `randrange` at a fraction of its cost, still fully seeded."""
    return int(rng.random() * n)


_HOUR_MINUTES = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
_SECOND_MILLIS = [f"{s:02d}.{ms:03d}" for s in range(60) for ms in range(1000)]


def _stamp(rng: random.Random, day: int) -> str:
    """An ISO-8601 UTC timestamp with milliseconds on day index `day`, as Deel writes them."""
    return f"{_DAYS[day]}T{_HOUR_MINUTES[_below(rng, 1440)]}:{_SECOND_MILLIS[_below(rng, 60_000)]}Z"


def now_stamp() -> str:
    """The current UTC time in Deel's timestamp format (for `updated_at` after a change)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- the workforce -------------------------------------------------------------------------------


@dataclass
class Workforce:
    """A generated organisation: its people plus the org data the other endpoints list.

    `people` holds person objects in the `GET /people` shape; `contracts` and `managers` are
    derived from them on first use (see `derive_contracts` / `derive_managers`).
    """

    people: list[Person]
    legal_entities: list[dict[str, Any]]
    departments: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    working_locations: list[dict[str, Any]]
    organizations: list[dict[str, Any]]
    domain: str = "acme.example"
    seed: int = 0
    _index: dict[str, Person] = field(default_factory=dict, repr=False, compare=False)
    #: With `EffectiveDates`: the profile ids of each kind of dated worker it made.
    effective: dict[str, list[str]] = field(default_factory=dict, compare=False)

    @property
    def contracts(self) -> list[dict[str, Any]]:
        """One `/contracts` item per employment, derived from the current people."""
        return derive_contracts(self.people)

    @property
    def managers(self) -> list[dict[str, Any]]:
        """The `/managers` items: every person with at least one direct report."""
        return derive_managers(self.people)

    def by_id(self, person_id: str) -> Person:
        """The person with this profile id (KeyError when there is none)."""
        found = self._index.get(person_id)
        if found is None or found.get("id") != person_id or len(self._index) != len(self.people):
            self._index = {p["id"]: p for p in self.people}
            found = self._index[person_id]
        return found

    def by_work_email(self, email: str) -> list[Person]:
        """Every person whose derived work email is `email` (case-insensitive)."""
        wanted = email.lower()
        return [p for p in self.people if (work_email_of(p) or "").lower() == wanted]

    def department(self, name: str) -> dict[str, Any]:
        """The `/departments` item with this name (KeyError when there is none)."""
        for item in self.departments:
            if item["name"] == name:
                return item
        raise KeyError(name)

    def team(self, name: str) -> dict[str, Any]:
        """The `/teams` item with this name (KeyError when there is none)."""
        for item in self.teams:
            if item["name"] == name:
                return item
        raise KeyError(name)


# -- reading a person ------------------------------------------------------------------------


def primary_employment(person: Person) -> dict[str, Any] | None:
    """The first employment that has not ended, else the first one, else None."""
    employments: list[dict[str, Any]] = person.get("employments") or []
    for employment in employments:
        if not employment.get("is_ended"):
            return employment
    return employments[0] if employments else None


def work_email_of(person: Person) -> str | None:
    """The work email as the sync contract derives it (emails[type=work], then employments)."""
    for entry in person.get("emails") or []:
        if entry.get("type") == "work" and entry.get("value"):
            return str(entry["value"])
    employments = list(person.get("employments") or [])
    primary = primary_employment(person)
    if primary is not None:
        employments.remove(primary)
        employments.insert(0, primary)
    for employment in employments:
        if employment.get("work_email"):
            return str(employment["work_email"])
    return None


def all_emails_of(person: Person) -> list[str]:
    """Every address on the person: `emails[]` values and each employment's addresses."""
    found = [e["value"] for e in person.get("emails") or [] if e.get("value")]
    for employment in person.get("employments") or []:
        found.extend(v for v in (employment.get("email"), employment.get("work_email")) if v)
    return found


# -- building blocks -----------------------------------------------------------------------------


class _Org:
    """The org data of one workforce plus the lookups the person builder needs."""

    def __init__(self, rng: random.Random, domain: str) -> None:
        company = domain.split(".", maxsplit=1)[0].replace("-", " ").title() or "Acme"
        self.company = company
        self.domain = domain
        self.organization = {"id": _uuid(rng), "name": company}
        self.entities: list[dict[str, Any]] = []
        self.entity_by_country: dict[str, dict[str, Any]] = {}
        for i, (country, suffix, subtype, _office) in enumerate(_ENTITIES):
            created = _stamp(rng, 30 + 40 * i)
            culture = _CULTURE_BY_COUNTRY[country]
            locality, region, postal, _tz = culture.places[0]
            entity = {
                "id": _uuid(rng),
                "name": f"{company} {suffix}",
                "country": country,
                "entity_type": "company",
                "entity_subtype": subtype,
                "created_at": created,
                "updated_at": created,
                "archived_at": None,
                "vat_id": f"{country}{rng.randrange(10**8, 10**9)}",
                "phone": None,
                "sic_number": None,
                "registrationNumber": str(rng.randrange(10**7, 10**8)),
                "industry_name": "Software",
                "address": {
                    "street": f"{rng.randint(1, 200)} {culture.streets[0]}",
                    "city": locality,
                    "state": region,
                    "zip": postal,
                    "country": country,
                },
            }
            self.entities.append(entity)
            self.entity_by_country[country] = entity
        archived_at = _stamp(rng, 900)
        self.entities.append(
            {
                "id": _uuid(rng),
                "name": f"{company} Holdings B.V.",
                "country": "NL",
                "entity_type": "company",
                "entity_subtype": "besloten_vennootschap",
                "created_at": _stamp(rng, 10),
                "updated_at": archived_at,
                "archived_at": archived_at,
                "vat_id": None,
                "phone": None,
                "sic_number": None,
                "registrationNumber": None,
                "industry_name": "Holding company",
                "address": None,
            }
        )
        self.hq = self.entities[0]
        self.office_by_country = {c: office for c, _s, _t, office in _ENTITIES if office}

        self.departments: list[dict[str, Any]] = []
        self.leaves: list[dict[str, Any]] = []  # person-shaped department objects
        self.leaf_weights: list[int] = []
        self.teams_by_dept: dict[str, list[dict[str, Any]]] = {}
        self.roles_by_dept: dict[str, tuple[str, ...]] = {}
        self.teams: list[dict[str, Any]] = []
        for parent_name, leaves in _DEPARTMENTS.items():
            parent = {"id": _uuid(rng), "name": parent_name, "parent": None}
            self.departments.append(parent)
            for leaf_name, (weight, team_names, roles) in leaves.items():
                leaf_id = _uuid(rng)
                self.departments.append({"id": leaf_id, "name": leaf_name, "parent": parent["id"]})
                self.leaves.append({"id": leaf_id, "name": leaf_name, "parent": parent_name})
                self.leaf_weights.append(weight)
                self.roles_by_dept[leaf_id] = roles
                teams = [{"id": _uuid(rng), "name": name} for name in team_names]
                self.teams_by_dept[leaf_id] = teams
                self.teams.extend(teams)
        self.groups: list[dict[str, Any]] = []
        for team in self.teams:
            created = _stamp(rng, rng.randrange(60, 400))
            self.groups.append(
                {
                    "id": team["id"],
                    "name": team["name"],
                    "status": "active",
                    "managers": 0,
                    "created_at": created,
                    "updated_at": created,
                    "archived_at": None,
                    "external_metadata": {},
                }
            )
        archived = _stamp(rng, 1200)
        self.groups.append(
            {
                "id": _uuid(rng),
                "name": "Legacy Ops",
                "status": "archived",
                "managers": 0,
                "created_at": _stamp(rng, 50),
                "updated_at": archived,
                "archived_at": archived,
                "external_metadata": {},
            }
        )
        self.locations = [{"id": 1000 + i, "name": name} for i, name in enumerate(_LOCATIONS)]

    @property
    def leaf_cum(self) -> list[int]:
        """Cumulative department weights, for `_weighted`."""
        return list(itertools.accumulate(self.leaf_weights))


class _Builder:
    """Builds person dicts for one workforce; keeps ids and work emails unique across it."""

    def __init__(self, rng: random.Random, org: _Org, taken: Iterable[Person] = ()) -> None:
        self.rng = rng
        self.org = org
        self.used_locals: set[str] = set()
        self.next_suffix: dict[str, int] = {}
        self.leaf_cum = org.leaf_cum
        self.used_contract_ids: set[str] = set()
        self.worker_seq = 4_100_000 + _below(rng, 100_000)
        self.employee_seq = 0
        for person in taken:
            email = work_email_of(person)
            if email and email.lower().endswith("@" + org.domain):
                self.used_locals.add(email.lower().rsplit("@", 1)[0])
            for employment in person.get("employments") or []:
                self.used_contract_ids.add(employment["id"])
            if str(person.get("worker_id", "")).isdigit():
                self.worker_seq = max(self.worker_seq, int(person["worker_id"]))
            self.employee_seq += 1

    def work_email(self, first_latin: str, last_latin: str) -> str:
        """`first.last@domain`, with a number after the last name when that is taken."""
        first, last = email_local(first_latin), email_local(last_latin)
        base = ".".join(part for part in (first, last) if part) or "worker"
        local, n = base, self.next_suffix.get(base, 1)
        if n > 1:
            local = f"{base}{n}"
        while local in self.used_locals:
            n += 1
            local = f"{base}{n}"
        self.next_suffix[base] = n + 1
        self.used_locals.add(local)
        return f"{local}@{self.org.domain}"

    def personal_email(self, first_latin: str, last_latin: str) -> str:
        rng = self.rng
        local = f"{email_local(first_latin)}.{email_local(last_latin)}".strip(".") or "me"
        return f"{local}{10 + _below(rng, 90)}@{rng.choice(_PERSONAL_DOMAINS)}"

    def contract_id(self) -> str:
        while True:
            bits = self.rng.getrandbits(36)
            chars = []
            for _ in range(7):
                bits, digit = divmod(bits, 36)
                chars.append(_B36[digit])
            cid = "".join(chars)
            if cid not in self.used_contract_ids:
                self.used_contract_ids.add(cid)
                return cid

    def next_worker_id(self) -> str:
        self.worker_seq += 1 + _below(self.rng, 7)
        return str(self.worker_seq)

    def pick_hiring_type(self, country: str) -> str:
        roll = self.rng.random()
        if roll < 0.35:
            return "eor"
        if roll < 0.65:
            return "contractor"
        if country not in self.org.entity_by_country:
            return "eor"  # no own entity there: direct employment goes through EOR
        return "hris_direct_employee" if roll < 0.9 else "direct_employee"

    def pick_department(self) -> tuple[dict[str, Any], dict[str, Any], str]:
        rng = self.rng
        dept = _weighted(rng, self.org.leaves, self.leaf_cum)
        team = rng.choice(self.org.teams_by_dept[dept["id"]])
        role = rng.choice(self.org.roles_by_dept[dept["id"]])
        return dept, team, role

    def days(self, status: str) -> tuple[int, int, int | None, int]:
        """Day indexes of creation, start, end (terminated only) and last update.

        Onboarding and pre-contract people start after AS_OF; everyone else before it.
        """
        rng = self.rng
        if status in ONBOARDING_STATUSES:
            created_day = _AS_OF_INDEX - 5 - _below(rng, 55)
            start_day = _AS_OF_INDEX + 3 + _below(rng, 57)
        elif status in PRE_CONTRACT_STATUSES:
            created_day = _AS_OF_INDEX - 1 - _below(rng, 29)
            start_day = _AS_OF_INDEX + 14 + _below(rng, 76)
        else:
            created_day = _below(rng, _AS_OF_INDEX - 120)
            start_day = created_day + 7 + _below(rng, 38)
        end_day = None
        if status == INACTIVE_STATUS:
            end_day = start_day + 30 + _below(rng, _AS_OF_INDEX - start_day - 30)
            updated_day = min(end_day + _below(rng, 5), _AS_OF_INDEX - 1)
        elif status == ACTIVE_STATUS:
            updated_day = start_day + _below(rng, _AS_OF_INDEX - start_day)
        else:
            updated_day = created_day + _below(rng, _AS_OF_INDEX - created_day)
        return created_day, start_day, end_day, updated_day

    def placement(self, htype: str, country: str, locality: str) -> tuple[dict[str, Any], str]:
        """The contracting legal entity and the work location label."""
        org = self.org
        if htype not in DIRECT_TYPES:  # EOR and contractors contract with headquarters
            return org.hq, "Remote"
        entity = org.entity_by_country.get(country, org.hq)
        office = org.office_by_country.get(country)
        location = office if office and self.rng.random() < 0.7 else "Remote"
        if location == "New York HQ" and locality == "San Francisco":
            location = "San Francisco Office"
        return entity, location

    def emails(self, variant: str, work: str, personal: str) -> list[dict[str, Any]]:
        """`emails[]` in the layouts Deel sends, plus the awkward variants."""
        primary = {"type": "primary", "value": personal}
        personal_entry = {"type": "personal", "value": personal}
        work_entry = {"type": "work", "value": work}
        roll = self.rng.random()
        layouts: list[list[dict[str, Any]]]
        if variant == "no_work_email":  # Deel can send a work entry whose value is null
            layouts = [[primary, personal_entry]]
            if roll < 0.5:
                layouts = [[primary, {"type": "work", "value": None}, personal_entry]]
        elif variant == "employment_email":
            layouts = [[primary, personal_entry]]
        elif roll < 0.65:
            layouts = [[primary, work_entry, personal_entry]]
        elif roll < 0.80:
            layouts = [[{"type": "primary", "value": work}, work_entry, personal_entry]]
        elif roll < 0.92:
            layouts = [[work_entry, personal_entry]]
        else:
            layouts = [[work_entry]]
        return layouts[0]

    def ended_contract(
        self,
        *,
        full_name: str,
        created_day: int,
        work: str,
        personal: str,
        region: str,
        culture: _Culture,
    ) -> dict[str, Any]:
        """An earlier contractor engagement that ended the day before the current profile."""
        rng = self.rng
        hq = self.org.hq
        _dept, team, role = self.pick_department()
        start = max(0, created_day - 200 - _below(rng, 500))
        return self._employment(
            htype="contractor",
            status=INACTIVE_STATUS,
            full_name=full_name,
            team=team,
            title=f"{role} (Contract)",
            seniority=None,
            start_day=start,
            created_day=max(0, start - 7),
            completion_date=_stamp(rng, max(0, start - 3)),
            end_day=max(start, created_day - 1),
            work=work,
            personal=personal,
            region=region,
            country=culture.country,
            timezone=rng.choice(culture.places)[3],
            currency=culture.currency,
            legal_entity={"id": hq["id"], "name": hq["name"]},
            variant="normal",
        )

    def build(
        self,
        culture: _Culture,
        first: tuple[str, str],
        last: tuple[str, str],
        status: str,
        *,
        hiring_type: str | None = None,
        variant: str = "normal",
        work_email: str | None = None,
        dept: dict[str, Any] | None = None,
        team: dict[str, Any] | None = None,
        role: str | None = None,
    ) -> Person:
        """One person in the `GET /people` shape.

        Variants: `normal`; `no_work_email` (only personal/primary addresses); `employment_email`
        (the work address only on the employment); `ended_then_active` (an ended contract first).
        """
        rng = self.rng
        country = culture.country
        locality, region, postal, timezone = rng.choice(culture.places)
        htype = hiring_type or self.pick_hiring_type(country)
        if dept is None or team is None or role is None:
            p_dept, p_team, p_role = self.pick_department()
            dept, team, role = dept or p_dept, team or p_team, role or p_role
        prefix, seniority, _w = _weighted(rng, _SENIORITY, _SENIORITY_CUM)
        title = f"{prefix} {role}".strip()
        first_name, last_name = first[0], last[0]
        full_name = f"{first_name} {last_name}"
        work = work_email or self.work_email(first[1], last[1])
        personal = self.personal_email(first[1], last[1])

        created_day, start_day, end_day, updated_day = self.days(status)
        created_at = _stamp(rng, created_day)
        signed = status not in PRE_CONTRACT_STATUSES
        completion_date = _stamp(rng, created_day + 1 + _below(rng, 5)) if signed else None
        updated_at = _stamp(rng, updated_day)
        updated_at = max(updated_at, created_at)

        entity, work_location = self.placement(htype, country, locality)
        legal_entity = {"id": entity["id"], "name": entity["name"]}

        employment = self._employment(
            htype=htype,
            status=status,
            full_name=full_name,
            team=team,
            title=title,
            seniority=seniority,
            start_day=start_day,
            created_day=created_day,
            completion_date=completion_date,
            end_day=end_day,
            work=work,
            personal=personal,
            region=region,
            country=country,
            timezone=timezone,
            currency=culture.currency,
            legal_entity=legal_entity,
            variant=variant,
        )
        employments = [employment]
        if variant == "ended_then_active":
            employments.insert(
                0,
                self.ended_contract(
                    full_name=full_name,
                    created_day=created_day,
                    work=work,
                    personal=personal,
                    region=region,
                    culture=culture,
                ),
            )

        emails = self.emails(variant, work, personal)

        terminated = status == INACTIVE_STATUS
        offboarding = status == ACTIVE_STATUS and rng.random() < 0.005
        preferred_first = None
        if culture.key in ("cn", "kr", "jp") and rng.random() < 0.25:
            preferred_first = rng.choice(("Kevin", "Lily", "Jenny", "David", "Grace", "Leo"))
        elif rng.random() < 0.03:
            preferred_first = first[1].split(" ")[0][:4].title()
        has_address = rng.random() < 0.8
        birth_date = None
        if rng.random() < 0.7:
            birth_date = dt.date.fromordinal(_BIRTH_FIRST + _below(rng, 16_000)).isoformat()
        self.employee_seq += 1
        person: Person = {
            "id": _uuid(rng),
            "worker_id": self.next_worker_id(),
            "external_id": f"EMP-{self.employee_seq:05d}" if htype in DIRECT_TYPES else None,
            "first_name": first_name,
            "last_name": last_name,
            "full_name": full_name,
            "preferred_first_name": preferred_first,
            "preferred_last_name": None,
            "emails": emails,
            "birth_date": birth_date,
            "start_date": _DAYS[start_day],
            "created_at": created_at,
            "updated_at": updated_at,
            "completion_date": completion_date,
            "hiring_status": status,
            "new_hiring_status": status,
            "person_status": "OFFBOARDING" if offboarding else PERSON_STATUS[status],
            "hiring_type": htype,
            "is_pwac": False,
            "job_title": title,
            "seniority": seniority,
            "department": dict(dept),
            "work_location": work_location,
            "country": country,
            "state": region,
            "timezone": timezone,
            "nationalities": [country],
            "addresses": [
                {
                    "streetAddress": f"{1 + _below(rng, 250)} {rng.choice(culture.streets)}",
                    "locality": locality,
                    "region": region,
                    "postalCode": postal,
                    "country": country,
                }
            ]
            if has_address
            else [],
            "client_legal_entity": dict(legal_entity),
            "direct_manager": None,
            "direct_reports": [],
            "direct_reports_count": 0,
            "hris_organization_user_id": _uuid(rng),
            "active_worker_termination_status": (
                "COMPLETED" if terminated else "PENDING" if offboarding else None
            ),
            "employments": employments,
        }
        if terminated and htype in DIRECT_TYPES:
            person["direct_employee_termination_last_day"] = employment["termination_last_day"]
        return person

    def _employment(
        self,
        *,
        htype: str,
        status: str,
        full_name: str,
        team: dict[str, Any],
        title: str,
        seniority: str | None,
        start_day: int,
        created_day: int,
        completion_date: str | None,
        end_day: int | None,
        work: str,
        personal: str,
        region: str,
        country: str,
        timezone: str,
        currency: str,
        legal_entity: dict[str, Any],
        variant: str,
    ) -> dict[str, Any]:
        rng = self.rng
        low, high = _RATES[currency]
        if htype == "contractor":
            kind = rng.choice(_CONTRACTOR_NAMES)
            name = f"{full_name} - {kind} Contract {_DAYS[created_day]}"
            scale = "hourly" if kind == "Pay-As-You-Go" else "monthly"
            rate: float = round(rng.uniform(low, high) / (150 if scale == "hourly" else 1.2), 2)
        elif htype == "eor":
            name = f"{full_name} - EOR Contract"
            scale, rate = "monthly", float(low + 50 * _below(rng, (high - low) // 50))
        else:
            name = f"{full_name} - Employment Agreement"
            scale, rate = "annual", float((low + 50 * _below(rng, (high - low) // 50)) * 12)
        ended = status == INACTIVE_STATUS
        contract_status = {
            "active": "in_progress",
            "inactive": "completed",
            "onboarding": "onboarding",
            "onboarding_at_risk": "onboarding",
            "onboarding_overdue": "onboarding",
            "invited": "waiting_for_contractor_sign",
            "draft": "new",
        }[status]
        if status == "invited" and htype != "contractor":
            contract_status = "waiting_for_employee_sign"
        no_work = variant == "no_work_email"
        return {
            "id": self.contract_id(),
            "name": name,
            "team": dict(team),
            "email": personal if no_work else work,
            "work_email": None if no_work else work,
            "state": region,
            "country": country,
            "timezone": timezone,
            "job_title": title,
            "seniority": seniority,
            "start_date": _DAYS[start_day],
            "hiring_type": htype,
            "hiring_status": status,
            "new_hiring_status": status,
            "contract_status": contract_status,
            "is_ended": ended,
            "contract_is_archived": False,
            "is_user_contract_deleted": False,
            "contract_has_contractor": status not in PRE_CONTRACT_STATUSES,
            "termination_last_day": _stamp(rng, end_day) if end_day is not None else None,
            "completion_date": completion_date,
            "voluntarily_left": (rng.random() < 0.6) if ended else None,
            "has_eor_termination": ended and htype == "eor",
            "payment": {"rate": rate, "scale": scale, "currency": currency, "contract_name": name},
            "client_legal_entity": dict(legal_entity),
            "contract_coverage": "no_coverage" if htype == "contractor" else None,
            "band_placement": None,
            "comparative_ratio": None,
            "compensation_band_id": None,
            "hris_direct_employee_invitation": None,
        }


def _pick_name(rng: random.Random, culture: _Culture) -> tuple[tuple[str, str], tuple[str, str]]:
    return rng.choice(culture.first), rng.choice(culture.last)


# Scenarios that every workforce of reasonable size holds, most important first:
# (kind, culture, first, last). `rehire` makes two profiles; the rest make one person each.
# fmt: off
_SPECIALS: tuple[tuple[str, str, str, str], ...] = (
    ("rehire", "in", "Priya", "Raman"),
    ("no_work_email", "us", "Jordan", "Blake"),
    ("employment_email", "br", "Luíza", "Gonçalves"),
    ("ended_then_active", "pl", "Łukasz", "Wójcik"),
    ("collision", "us", "Alpha", "Zed"),
    ("collision", "us", "Alpha", "Zed"),
    ("collision", "mx", "Maria", "Garcia"),
    ("collision", "es", "Maria", "Garcia"),
    ("collision", "mx", "Maria", "Garcia"),
    ("name", "es", "José", "Álvarez"),
    ("name", "dk", "Søren", "Ærø"),
    ("name", "de", "Zoë", "Schäfer"),
    ("name", "vn", "Thị Hoa", "Nguyễn"),
    ("name", "ie", "Siobhán", "O'Brien"),
    ("name", "it", "Marco", "D'Angelo"),
    ("name", "fr", "Anne-Marie", "Smith-Jones"),
    ("name", "nl", "Pieter", "van der Berg"),
    ("name", "ph", "Juan", "de la Cruz"),
    ("name", "es", "María José", "García-López"),
    ("name", "cn", "伟|Wei", "王|Wang"),
    ("name", "ru", "Дмитрий|Dmitry", "Иванов|Ivanov"),
    ("name", "ar", "محمد|Mohammed", "العلي|Al-Ali"),
    ("name", "kr", "민준|Minjun", "김|Kim"),
    ("name", "gr", "Αλέξανδρος|Alexandros", "Παπαδόπουλος|Papadopoulos"),
    ("collision", "us", "Alpha", "Zed"),
    ("no_work_email", "de", "Jürgen", "Groß"),
    ("no_work_email", "ng", "Adaeze", "Okonkwo"),
    ("employment_email", "fr", "Hélène", "Côté"),
    ("employment_email", "jp", "陽菜|Hina", "佐藤|Sato"),
    ("ended_then_active", "us", "Mary Kate", "O'Neil"),
    ("ended_then_active", "tr", "Çağla", "Yılmaz"),
)
# fmt: on


def _name_pair(text: str) -> tuple[str, str]:
    native, _, latin = text.partition("|")
    return native, latin or native


def _status_plan(rng: random.Random, n: int) -> list[str]:
    """Exactly ~3% inactive, ~2% onboarding, a few pre-contract, the rest active; shuffled."""
    inactive = round(n * 0.03)
    onboarding = round(n * 0.02)
    pre = round(n * 0.005) if n >= 100 else 0
    statuses = [INACTIVE_STATUS] * inactive
    statuses += [ONBOARDING_STATUSES[i % 3] for i in range(onboarding)]
    statuses += [PRE_CONTRACT_STATUSES[i % 2] for i in range(pre)]
    statuses += [ACTIVE_STATUS] * (n - len(statuses))
    rng.shuffle(statuses)
    return statuses


@dataclass(frozen=True)
class ManagerQuirks:
    """Awkward reporting lines, opt-in: what a real Deel org chart holds.

    Drawn from a random stream of their own after the workforce is built, so a workforce
    generated without them stays byte for byte what it always was. Each quirk takes active
    workers with a work email who manage no one (the CEO never), so the counts below are
    exact when the workforce has enough of them (and as many as it has otherwise).
    """

    chain: int = 8  # one extra chain of this many people, each managing the next
    cycles: int = 2  # reporting cycles, alternately of two and three people
    outside: int = 3  # people whose manager is no one in the workforce (left, another org)
    without_email: int = 2  # managers with no work email, of three reports each
    reports_without_email: int = 3

    def cycle_sizes(self) -> list[int]:
        """The size of each cycle: 2, 3, 2, 3, ..."""
        return [2 + i % 2 for i in range(self.cycles)]


def generate_workforce(
    n: int,
    seed: int,
    *,
    domain: str = "acme.example",
    manager_quirks: ManagerQuirks | None = None,
    effective_dates: EffectiveDates | None = None,
) -> Workforce:
    """A deterministic workforce of `n` people (same `n` and `seed` -> an identical result).

    About 3% are terminated (`inactive`), 2% onboarding, 0.5% pre-contract (`invited`/`draft`),
    the rest `active`. With n >= 128 every special scenario (`_SPECIALS`) is present; smaller
    workforces hold as many of them as a quarter of their size allows, most important first.
    Everyone but the CEO has a `direct_manager` (a tree, spans of six); `manager_quirks`
    adds deeper chains, cycles, managers outside the workforce and managers without a work
    email; `effective_dates` adds dated workers and time zones (see `add_effective_dates`).
    Both are off by default.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    # Millions of small containers, none of them cyclic: the collector would only slow us down.
    collecting = gc.isenabled()
    gc.disable()
    try:
        workforce = _generate(n, seed, domain)
        if manager_quirks is not None:
            add_manager_quirks(workforce, manager_quirks)
        if effective_dates is not None:
            add_effective_dates(workforce, effective_dates)
        return workforce
    finally:
        if collecting:
            gc.enable()


def add_manager_quirks(workforce: Workforce, quirks: ManagerQuirks) -> dict[str, list[str]]:
    """Rewire some reporting lines as `quirks` says; returns the profile ids of each quirk.

    The keys: `chain` (top first), `cycles` (the members, cycle after cycle), `outside`
    (the people whose manager is outside), `outside_managers` (those managers' ids),
    `without_email` (the managers stripped of their work email) and their `reports`.
    """
    rng = random.Random(f"manager-quirks-{workforce.seed}-{len(workforce.people)}")
    people = workforce.people
    pool = [
        p
        for p in people
        if p["hiring_status"] == ACTIVE_STATUS
        and p["direct_manager"] is not None
        and not p["direct_reports"]
        and work_email_of(p)
    ]
    rng.shuffle(pool)
    manager_of: dict[str, dict[str, Any]] = {
        p["id"]: p["direct_manager"] for p in people if p["direct_manager"] is not None
    }
    by_id = {p["id"]: p for p in people}
    chosen: dict[str, list[str]] = {key: [] for key in _QUIRK_KEYS}

    def take(count: int) -> list[Person]:
        picked = pool[:count]
        del pool[:count]
        return picked

    chain = take(quirks.chain)
    for above, below in itertools.pairwise(chain):
        manager_of[below["id"]] = {"id": above["id"]}
    chosen["chain"] = [p["id"] for p in chain]
    for size in quirks.cycle_sizes():
        members = take(size)
        for index, member in enumerate(members):
            manager_of[member["id"]] = {"id": members[(index + 1) % len(members)]["id"]}
        chosen["cycles"] += [p["id"] for p in members]
    for person in take(quirks.outside):
        outside = _outside_manager(rng, workforce.domain)
        manager_of[person["id"]] = outside
        chosen["outside"].append(person["id"])
        chosen["outside_managers"].append(outside["id"])
    for manager in take(quirks.without_email):
        _drop_work_email(manager)
        chosen["without_email"].append(manager["id"])
        for report in take(quirks.reports_without_email):
            manager_of[report["id"]] = {"id": manager["id"]}
            chosen["reports"].append(report["id"])
    _relink(people, by_id, manager_of)
    return chosen


_QUIRK_KEYS = ("chain", "cycles", "outside", "outside_managers", "without_email", "reports")


def _outside_manager(rng: random.Random, domain: str) -> dict[str, Any]:
    """A `direct_manager` reference to someone who is not in the workforce."""
    number = 900_000 + _below(rng, 99_999)
    return {
        "id": _uuid(rng),
        "first_name": "Former",
        "last_name": f"Manager{number}",
        "work_email": f"former.manager{number}@{domain}",
        "worker_id": number,
    }


def _drop_work_email(person: Person) -> None:
    """Remove every work address (emails[] and employments), as a worker who never had one."""
    work = work_email_of(person)
    person["emails"] = [
        e for e in person["emails"] if e.get("type") != "work" and e.get("value") != work
    ]
    personal = next((e["value"] for e in person["emails"] if e.get("value")), None)
    for employment in person["employments"]:
        employment["work_email"] = None
        if employment.get("email") == work:
            employment["email"] = personal


def _relink(
    people: list[Person], by_id: dict[str, Person], manager_of: dict[str, dict[str, Any]]
) -> None:
    """Rebuild `direct_manager`, `direct_reports` and their count from `manager_of`."""
    reports: dict[str, list[Person]] = {}
    for person in people:
        ref = manager_of.get(person["id"])
        manager = by_id.get(ref["id"]) if ref is not None else None
        person["direct_manager"] = _manager_ref(manager) if manager is not None else ref
        if manager is not None and person["hiring_status"] != INACTIVE_STATUS:
            reports.setdefault(manager["id"], []).append(person)
    for person in people:
        mine = reports.get(person["id"], [])
        person["direct_reports"] = [_report_ref(r) for r in mine]
        person["direct_reports_count"] = len(mine)


# -- effective dates (opt-in) ---------------------------------------------------------------------

#: Zones a worker may be given: both ends of the UTC offsets, half and quarter hours, zones
#: whose clocks move, and the abbreviations HR systems write (docs/effective-dates.md's table).
EXOTIC_ZONES = (
    "Pacific/Kiritimati", "Pacific/Tongatapu", "Pacific/Chatham", "Pacific/Pago_Pago",
    "Pacific/Niue", "Pacific/Honolulu", "Asia/Kathmandu", "Asia/Kolkata", "Australia/Lord_Howe",
    "America/St_Johns", "America/Santiago", "Europe/Berlin", "America/New_York",
    "EST", "PST", "CET", "IST", "JST", "AEST", "WAT", "BRT", "GMT", "NZDT", "SAST", "KST", "EAT",
)  # fmt: skip
#: Zone names no table or zone database knows (a worker then gets `default_timezone`).
UNKNOWN_ZONES = ("Eastern Standard Time", "UTC+05:30", "Mars/Olympus", "local time")


@dataclass(frozen=True)
class EffectiveDates:
    """What `add_effective_dates` adds, as fractions of the workforce (rounded).

    `today` is the day the dates are counted from (the day of the sync under test).
    """

    today: dt.date
    future_starters: float = 0.02  # onboarding, start date 1-45 days ahead
    future_leavers: float = 0.01  # active, last day 1-30 days ahead
    past_leavers: float = 0.005  # still active in Deel, last day 1-5 days ago
    exotic_zones: float = 0.25  # of everyone: a zone from `EXOTIC_ZONES`
    unknown_zones: float = 0.0  # of everyone: a name from `UNKNOWN_ZONES`


def add_effective_dates(workforce: Workforce, options: EffectiveDates) -> Workforce:
    """Date some of the workforce's active people and give people zones from everywhere.

    Drawn from a random stream of its own (seeded by the workforce's seed and size), so the
    rest of the workforce is as `generate_workforce` made it. The ids of the dated people
    are in `workforce.effective` (`future_starters`, `future_leavers`, `past_leavers`).
    Changes the people in place and returns the workforce.
    """
    people = workforce.people
    rng = random.Random(f"effective-dates/{workforce.seed}/{len(people)}")
    shared = {e for e, count in _work_email_counts(people).items() if count > 1}
    candidates = [
        p for p in people if p["hiring_status"] == ACTIVE_STATUS and work_email_of(p) not in shared
    ]
    counts = [
        round(len(people) * fraction)
        for fraction in (options.future_starters, options.future_leavers, options.past_leavers)
    ]
    picked = rng.sample(candidates, min(len(candidates), sum(counts)))
    starters = picked[: counts[0]]
    leavers = picked[counts[0] : counts[0] + counts[1]]
    past = picked[counts[0] + counts[1] :]
    for person in starters:
        _start_on(person, options.today + dt.timedelta(days=1 + _below(rng, 45)))
    for person in leavers:
        _leave_on(person, options.today + dt.timedelta(days=1 + _below(rng, 30)), ahead=True)
    for person in past:
        _leave_on(person, options.today - dt.timedelta(days=1 + _below(rng, 5)), ahead=False)
    for person in people:
        roll = rng.random()
        if roll < options.unknown_zones:
            _set_zone(person, rng.choice(UNKNOWN_ZONES))
        elif roll < options.unknown_zones + options.exotic_zones:
            _set_zone(person, rng.choice(EXOTIC_ZONES))
    workforce.effective = {
        "future_starters": [p["id"] for p in starters],
        "future_leavers": [p["id"] for p in leavers],
        "past_leavers": [p["id"] for p in past],
    }
    return workforce


def _work_email_counts(people: Iterable[Person]) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for person in people:
        email = work_email_of(person)
        counts[email] = counts.get(email, 0) + 1
    return counts


def _start_on(person: Person, day: dt.date) -> None:
    """An onboarding hire who starts on `day` (Deel's status before the first day)."""
    person["start_date"] = day.isoformat()
    person["hiring_status"] = person["new_hiring_status"] = ONBOARDING_STATUSES[0]
    person["person_status"] = PERSON_STATUS[ONBOARDING_STATUSES[0]]
    primary = primary_employment(person)
    if primary is not None:
        primary["start_date"] = day.isoformat()
        primary["hiring_status"] = primary["new_hiring_status"] = ONBOARDING_STATUSES[0]
        primary["contract_status"] = "onboarding"


def _leave_on(person: Person, day: dt.date, *, ahead: bool) -> None:
    """An active worker whose termination has a last day (Deel still says active)."""
    stamp = f"{day.isoformat()}T00:00:00.000Z"
    person["person_status"] = "OFFBOARDING"
    person["active_worker_termination_status"] = "PENDING" if ahead else "IN_PROGRESS"
    primary = primary_employment(person)
    if primary is not None:
        primary["termination_last_day"] = stamp
    if person.get("hiring_type") in DIRECT_TYPES:
        person["direct_employee_termination_last_day"] = stamp


def _set_zone(person: Person, zone: str) -> None:
    person["timezone"] = zone
    primary = primary_employment(person)
    if primary is not None:
        primary["timezone"] = zone


def _generate(n: int, seed: int, domain: str) -> Workforce:
    rng = random.Random(seed)
    org = _Org(rng, domain)
    builder = _Builder(rng, org)
    statuses = _status_plan(rng, n)

    # Lay the specials out over the list: one slot per scenario (a re-hire slot yields two).
    budget = n // 4
    chosen: list[tuple[str, str, str, str]] = []
    used = 0
    for special in _SPECIALS:
        size = 2 if special[0] == "rehire" else 1
        if used + size > budget:
            break
        chosen.append(special)
        used += size
    items = n - (used - len(chosen))  # slots to fill so that the people count is exactly n
    slots = sorted(rng.sample(range(items), len(chosen)))
    special_at = dict(zip(slots, chosen, strict=True))

    people: list[Person] = []
    for i in range(items):
        status = statuses[len(people)]
        scenario = special_at.get(i)
        if scenario is None:
            culture = _weighted(rng, CULTURES, _CULTURE_CUM)
            first, last = _pick_name(rng, culture)
            people.append(builder.build(culture, first, last, status))
            continue
        kind, culture_key, first_text, last_text = scenario
        culture = _CULTURE_BY_KEY[culture_key]
        first, last = _name_pair(first_text), _name_pair(last_text)
        if kind == "rehire":
            people.extend(_rehire_pair(builder, culture, first, last))
        elif kind in ("no_work_email", "employment_email", "ended_then_active"):
            people.append(
                builder.build(
                    culture,
                    first,
                    last,
                    ACTIVE_STATUS if status == INACTIVE_STATUS else status,
                    variant=kind,
                )
            )
        else:
            people.append(builder.build(culture, first, last, status))

    _assign_managers(rng, people, org)
    return Workforce(
        people=people,
        legal_entities=org.entities,
        departments=org.departments,
        teams=org.teams,
        groups=org.groups,
        working_locations=org.locations,
        organizations=[org.organization],
        domain=domain,
        seed=seed,
    )


def _rehire_pair(
    builder: _Builder, culture: _Culture, first: tuple[str, str], last: tuple[str, str]
) -> list[Person]:
    """A contractor who became an employee: two Deel profiles sharing one work email."""
    email = builder.work_email(first[1], last[1])
    dept, team, role = builder.pick_department()
    old = builder.build(
        culture,
        first,
        last,
        INACTIVE_STATUS,
        hiring_type="contractor",
        work_email=email,
        dept=dept,
        team=team,
        role=role,
    )
    new = builder.build(
        culture,
        first,
        last,
        ACTIVE_STATUS,
        hiring_type="eor",
        work_email=email,
        dept=dept,
        team=team,
        role=role,
    )
    # The new profile starts after the old contract ended.
    old_end = old["employments"][0]["termination_last_day"][:10]
    if new["start_date"] <= old_end:
        start = dt.date.fromisoformat(old_end) + dt.timedelta(days=14)
        start = min(start, AS_OF - dt.timedelta(days=1))
        new["start_date"] = new["employments"][0]["start_date"] = start.isoformat()
    return [old, new]


def _set_title(person: Person, title: str, seniority: str | None) -> None:
    person["job_title"] = title
    person["seniority"] = seniority
    primary = primary_employment(person)
    if primary is not None:
        primary["job_title"] = title
        primary["seniority"] = seniority


def _manager_ref(person: Person) -> dict[str, Any]:
    return {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "work_email": work_email_of(person),
        "worker_id": int(person["worker_id"]),
    }


def _report_ref(person: Person) -> dict[str, Any]:
    return {
        "id": person["id"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "work_email": work_email_of(person),
    }


_SPAN = 6  # direct reports per manager inside a department


def _assign_managers(rng: random.Random, people: list[Person], org: _Org) -> None:
    """A reporting tree: a CEO, a head per department, spans of six below; no cycles."""
    eligible = [p for p in people if p["hiring_status"] == ACTIVE_STATUS]
    if not eligible:
        return
    # Managers are spread over the list (not its head), and come from employees before
    # contractors.
    rng.shuffle(eligible)
    eligible.sort(key=lambda p: p["hiring_type"] == "contractor")
    ceo = eligible[0]
    _set_title(ceo, "Chief Executive Officer", _EXECUTIVE_SENIORITY)
    by_dept: dict[str, list[Person]] = {}
    for person in eligible[1:]:
        by_dept.setdefault(person["department"]["id"], []).append(person)
    manager_of: dict[str, Person] = {}
    for members in by_dept.values():
        head = members[0]
        _set_title(head, f"Head of {head['department']['name']}", _DIRECTOR_SENIORITY)
        manager_of[head["id"]] = ceo
        for k in range(1, len(members)):
            manager_of[members[k]["id"]] = members[(k - 1) // _SPAN]
    eligible_ids = {p["id"] for p in eligible}
    for person in people:
        if person["id"] in eligible_ids or person is ceo:
            continue
        peers = by_dept.get(person["department"]["id"])
        manager_of[person["id"]] = rng.choice(peers) if peers else ceo
    _link_reports(people, manager_of, ceo, org)


def _link_reports(
    people: list[Person], manager_of: dict[str, Person], ceo: Person, org: _Org
) -> None:
    """Fill `direct_manager`, `direct_reports` (everyone not terminated) and manager titles."""
    reports: dict[str, list[Person]] = {}
    for person in people:
        manager = manager_of.get(person["id"])
        if manager is None:
            continue
        person["direct_manager"] = _manager_ref(manager)
        if person["hiring_status"] != INACTIVE_STATUS:
            reports.setdefault(manager["id"], []).append(person)
    managers_per_team: dict[str, int] = {}
    for person in people:
        mine = reports.get(person["id"])
        if not mine:
            continue
        person["direct_reports"] = [_report_ref(r) for r in mine]
        person["direct_reports_count"] = len(mine)
        if person is not ceo and person["seniority"] != _DIRECTOR_SENIORITY:
            _set_title(person, f"{person['department']['name']} Manager", _MANAGER_SENIORITY)
        primary = primary_employment(person)
        if primary is not None:
            team_id = primary["team"]["id"]
            managers_per_team[team_id] = managers_per_team.get(team_id, 0) + 1
    for group in org.groups:
        group["managers"] = managers_per_team.get(group["id"], 0)


# -- derived endpoint data ------------------------------------------------------------------------

_CONTRACT_TYPE = {
    "eor": "eor",
    "hris_direct_employee": "hris_direct_employee",
    "direct_employee": "global_payroll",
}


def contract_of(person: Person, employment: dict[str, Any]) -> dict[str, Any]:
    """The `/contracts` item for one employment of `person`."""
    htype = employment.get("hiring_type") or person.get("hiring_type")
    payment = employment.get("payment") or {}
    if htype == "contractor":
        ctype = (
            "pay_as_you_go_time_based"
            if payment.get("scale") == "hourly"
            else (
                "milestones" if "Milestone" in employment.get("name", "") else "ongoing_time_based"
            )
        )
    else:
        ctype = _CONTRACT_TYPE.get(str(htype), "unknown")
    signed = employment.get("completion_date")
    team = employment.get("team") or {}
    return {
        "id": employment["id"],
        "title": employment.get("name"),
        "type": ctype,
        "status": employment.get("contract_status"),
        "client": {"team": {"id": team.get("id"), "name": team.get("name")}},
        "worker": {
            "id": person["id"],
            "full_name": person.get("full_name"),
            "email": employment.get("email"),
            "image": None,
            "alternate_email": [],
        },
        "created_at": person.get("created_at"),
        "termination_date": employment.get("termination_last_day"),
        "is_archived": bool(employment.get("contract_is_archived")),
        "is_shielded": False,
        "external_id": person.get("external_id"),
        "invitations": {"client_email": None, "worker_email": employment.get("email")},
        "signatures": {
            "client_signed_at": signed,
            "worker_signature": person.get("full_name") if signed else None,
            "worker_signed_at": signed,
        },
        "notice_period": 30,
        "scale": payment.get("scale"),
        "who_reports": "both" if htype == "contractor" else None,
        "cost_centers": [],
    }


def derive_contracts(people: Iterable[Person]) -> list[dict[str, Any]]:
    """Every employment of every person as a `/contracts` item, in people order."""
    return [contract_of(p, e) for p in people for e in p.get("employments") or []]


def derive_managers(people: Iterable[Person]) -> list[dict[str, Any]]:
    """The `/managers` items: people with direct reports, as `{id, email, first/last name}`."""
    return [
        {
            "id": p["id"],
            "email": work_email_of(p),
            "first_name": p["first_name"],
            "last_name": p["last_name"],
        }
        for p in people
        if p.get("direct_reports_count")
    ]


# -- realistic changes ---------------------------------------------------------------------------


def promote(
    person: Person, title: str, *, seniority: str | None = None, at: str | None = None
) -> Person:
    """A new job title (and optionally seniority) on the person and the primary employment."""
    _set_title(person, title, seniority if seniority is not None else person["seniority"])
    person["updated_at"] = at or now_stamp()
    return person


def _lookup(items: Sequence[dict[str, Any]], value: dict[str, Any] | str) -> dict[str, Any]:
    key = value if isinstance(value, str) else value.get("id")
    for item in items:
        if key in (item.get("id"), item.get("name")):
            return item
    raise KeyError(f"no such department or team: {key!r}")


def transfer(
    person: Person,
    department: dict[str, Any] | str,
    team: dict[str, Any] | str,
    *,
    workforce: Workforce | None = None,
    at: str | None = None,
) -> Person:
    """Move the person to another department and team (primary employment included).

    `department` and `team` are objects (`{id, name[, parent]}`) or, with `workforce`, names or
    ids looked up in it. A `/departments` item (whose `parent` is an id) is turned into the
    person shape (whose `parent` is the parent's name).
    """
    if workforce is not None:
        dept_item = _lookup(workforce.departments, department)
        parent = next(
            (d["name"] for d in workforce.departments if d["id"] == dept_item.get("parent")),
            dept_item.get("parent"),
        )
        dept_obj = {"id": dept_item["id"], "name": dept_item["name"], "parent": parent}
        team_item = _lookup(workforce.teams, team)
        team_obj = {"id": team_item["id"], "name": team_item["name"]}
    else:
        if isinstance(department, str) or isinstance(team, str):
            raise TypeError("pass department and team objects, or a workforce to look names up")
        dept_obj = {
            "id": department["id"],
            "name": department["name"],
            "parent": department.get("parent"),
        }
        team_obj = {"id": team["id"], "name": team["name"]}
    person["department"] = dept_obj
    primary = primary_employment(person)
    if primary is not None:
        primary["team"] = team_obj
    person["updated_at"] = at or now_stamp()
    return person


def terminate(person: Person, *, last_day: str | None = None, at: str | None = None) -> Person:
    """End every contract: `inactive`, `INACTIVE`, each employment ended with a last day."""
    stamp = at or now_stamp()
    last = last_day or stamp[:10]
    last_stamp = last if "T" in last else f"{last}T00:00:00.000Z"
    person["hiring_status"] = person["new_hiring_status"] = INACTIVE_STATUS
    person["person_status"] = "INACTIVE"
    person["active_worker_termination_status"] = "COMPLETED"
    for employment in person.get("employments") or []:
        if employment.get("is_ended"):
            continue
        employment["is_ended"] = True
        employment["hiring_status"] = employment["new_hiring_status"] = INACTIVE_STATUS
        employment["contract_status"] = "completed"
        employment["termination_last_day"] = last_stamp
        employment["has_eor_termination"] = employment.get("hiring_type") == "eor"
    if person.get("hiring_type") in DIRECT_TYPES:
        person["direct_employee_termination_last_day"] = last_stamp
    person["updated_at"] = stamp
    return person


def new_hire(
    workforce: Workforce | Sequence[Person],
    first: str,
    last: str,
    rng: random.Random | int = 0,
    *,
    status: str = ACTIVE_STATUS,
    hiring_type: str | None = None,
    department: str | None = None,
    team: str | None = None,
    country: str | None = None,
    work_email: str | None = None,
    with_work_email: bool = True,
    domain: str | None = None,
    at: str | None = None,
) -> Person:
    """A new person dict for `first last`, consistent with `workforce` (not added to it).

    `workforce` is a `Workforce` or the current list of people (e.g. `DeelEmulator.people`); its
    work emails stay unique and, given a `Workforce`, the department and team come from its org
    data (by name or id, or drawn at random; a team alone implies its department). `rng` is a
    `random.Random` or a seed. `with_work_email=False` gives a worker with only primary and
    personal addresses.
    """
    rand = rng if isinstance(rng, random.Random) else random.Random(rng)
    if isinstance(workforce, Workforce):
        people: Sequence[Person] = workforce.people
        domain = domain or workforce.domain
        org = _Org(random.Random(workforce.seed), workforce.domain)
        # Reuse the real org data so ids match what the endpoints list.
        org.entities = workforce.legal_entities
        org.entity_by_country = {
            e["country"]: e for e in workforce.legal_entities if not e.get("archived_at")
        }
        if workforce.legal_entities:
            org.hq = workforce.legal_entities[0]
        org.teams = workforce.teams
        _align_org(org, workforce)
    else:
        people = workforce
        domain = domain or _domain_of(people) or "acme.example"
        org = _Org(random.Random(0), domain)
        _align_org_from_people(org, people)
    org.domain = domain
    builder = _Builder(rand, org, people)
    culture = _CULTURE_BY_COUNTRY.get(country or "") or _weighted(rand, CULTURES, _CULTURE_CUM)
    dept, team_obj, role = _choose_department(org, rand, department, team)
    first_pair = (first, _latin_guess(first))
    last_pair = (last, _latin_guess(last))
    person = builder.build(
        culture,
        first_pair,
        last_pair,
        status,
        hiring_type=hiring_type,
        variant="normal" if with_work_email else "no_work_email",
        work_email=work_email,
        dept=dept,
        team=team_obj,
        role=role,
    )
    if at is not None:
        person["created_at"] = person["updated_at"] = at
    # A manager from the same department when one is known.
    managers = [
        p
        for p in people
        if p.get("direct_reports_count")
        and (p.get("department") or {}).get("id") == person["department"]["id"]
    ]
    if managers:
        person["direct_manager"] = _manager_ref(rand.choice(managers))
    return person


def _choose_department(
    org: _Org, rand: random.Random, department: str | None, team: str | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]:
    """The (department, team, role) a new hire gets: as asked, or None to draw at random."""
    if department is None and team is None:
        return None, None, None
    team_obj = None
    if team is not None:
        team_obj = next((t for t in org.teams if team in (t["name"], t["id"])), None)
        if team_obj is None:
            raise KeyError(f"no such team: {team!r}")
    if department is None:
        owner = next(
            (d for d in org.leaves if team_obj in org.teams_by_dept.get(d["id"], [])), None
        )
        if owner is None:
            raise KeyError(f"no department holds team {team!r}")
        dept = owner
    else:
        found = next((d for d in org.leaves if department in (d["name"], d["id"])), None)
        if found is None:
            raise KeyError(f"no such department: {department!r}")
        dept = found
    if team_obj is None:
        team_obj = rand.choice(org.teams_by_dept.get(dept["id"]) or org.teams)
    role = rand.choice(org.roles_by_dept.get(dept["id"], ("Specialist",)))
    return dept, team_obj, role


def _latin_guess(name: str) -> str:
    """A Latin spelling for a name typed by hand: the pools' own spelling when known."""
    for culture in CULTURES:
        for native, latin in culture.first + culture.last:
            if native == name:
                return latin
    return name


def _domain_of(people: Iterable[Person]) -> str | None:
    for person in people:
        email = work_email_of(person)
        if email and "@" in email:
            return email.rsplit("@", 1)[1]
    return None


def _align_org(org: _Org, workforce: Workforce) -> None:
    """Point the builder's department and team pools at the workforce's own ids."""
    parents = {d["id"]: d["name"] for d in workforce.departments}
    leaves = [d for d in workforce.departments if d.get("parent")]
    by_name = {leaf["name"]: leaf for leaf in org.leaves}
    team_ids = {t["name"]: t for t in workforce.teams}
    new_leaves, weights = [], []
    teams_by_dept: dict[str, list[dict[str, Any]]] = {}
    roles_by_dept: dict[str, tuple[str, ...]] = {}
    for leaf in leaves:
        template = by_name.get(leaf["name"])
        new_leaves.append(
            {
                "id": leaf["id"],
                "name": leaf["name"],
                "parent": parents.get(leaf["parent"], leaf["parent"]),
            }
        )
        weights.append(org.leaf_weights[org.leaves.index(template)] if template else 1)
        if template:
            teams_by_dept[leaf["id"]] = [
                team_ids[t["name"]]
                for t in org.teams_by_dept[template["id"]]
                if t["name"] in team_ids
            ]
            roles_by_dept[leaf["id"]] = org.roles_by_dept[template["id"]]
        teams_by_dept[leaf["id"]] = teams_by_dept.get(leaf["id"]) or list(workforce.teams)
        roles_by_dept.setdefault(leaf["id"], ("Specialist",))
    if new_leaves:
        org.leaves, org.leaf_weights = new_leaves, weights
        org.teams_by_dept, org.roles_by_dept = teams_by_dept, roles_by_dept


def _align_org_from_people(org: _Org, people: Sequence[Person]) -> None:
    """Without a `Workforce`, reuse the departments, teams and entities the people carry."""
    leaves: dict[str, dict[str, Any]] = {}
    teams_by_dept: dict[str, list[dict[str, Any]]] = {}
    entities: dict[str, dict[str, Any]] = {}
    for person in people:
        dept = person.get("department")
        primary = primary_employment(person)
        if dept and primary and primary.get("team"):
            leaves.setdefault(dept["id"], dict(dept))
            known = teams_by_dept.setdefault(dept["id"], [])
            if primary["team"] not in known:
                known.append(dict(primary["team"]))
        entity = person.get("client_legal_entity")
        if entity and entity.get("id") and person.get("hiring_type") in DIRECT_TYPES:
            entities.setdefault(person.get("country") or "", entity)
    if not leaves:
        return
    templates = {leaf["name"]: leaf for leaf in org.leaves}
    org.roles_by_dept = {
        dept_id: org.roles_by_dept[templates[d["name"]]["id"]]
        if d["name"] in templates
        else ("Specialist",)
        for dept_id, d in leaves.items()
    }
    org.leaves = list(leaves.values())
    org.leaf_weights = [1] * len(org.leaves)
    org.teams_by_dept = teams_by_dept
    org.teams = [t for teams in teams_by_dept.values() for t in teams]
    if entities:
        hq_entity = next(
            (
                p["client_legal_entity"]
                for p in people
                if p.get("hiring_type") == "eor" and p.get("client_legal_entity")
            ),
            None,
        )
        org.entity_by_country = {c: {"id": e["id"], "name": e["name"]} for c, e in entities.items()}
        if hq_entity:
            org.hq = {"id": hq_entity["id"], "name": hq_entity["name"]}
