"""Fixed reference data the generator draws from: names, places, custom fields, groups.

Plain constants (tuples), so generated contacts depend only on (seed, index). No value contains
a comma or quote by accident; the CSV writer quotes properly anyway.
"""

from __future__ import annotations

from typing import NamedTuple

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony",
    "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily",
    "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Carol", "Kevin", "Amanda", "Brian",
    "Melissa", "George", "Deborah", "Timothy", "Stephanie", "Ronald", "Rebecca", "Jason", "Laura",
    "Edward", "Sharon", "Jeffrey", "Cynthia", "Ryan", "Kathleen", "Jacob", "Amy", "Luis", "Ana",
    "Carlos", "Maria", "Wei", "Mei", "Hiroshi", "Yuki", "Olumide", "Amara", "Priya", "Arjun",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Kim", "Patel", "Okafor",
    "Shelley", "Micawber", "O'Brien", "Murphy", "Cohen", "Schmidt", "Rossi", "Tanaka", "Singh",
)
STREETS = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Blvd",
    "Lake Rd", "Hillside Ave", "Park Pl", "Sunset Blvd", "Ridge Rd", "Church St", "Mill Rd",
    "River Rd", "Spring St", "Highland Ave", "Meadow Ln", "Forest Dr", "Broadway",
    "Market St", "Jefferson Ave", "Lincoln Way", "Madison Ave", "Franklin St", "Union St",
)
# city, state, first three digits of the ZIP code, area code
PLACES = (
    ("New York", "NY", "100", "212"), ("Brooklyn", "NY", "112", "718"),
    ("Buffalo", "NY", "142", "716"), ("Los Angeles", "CA", "900", "213"),
    ("San Francisco", "CA", "941", "415"), ("San Diego", "CA", "921", "619"),
    ("Sacramento", "CA", "958", "916"), ("Chicago", "IL", "606", "312"),
    ("Houston", "TX", "770", "713"), ("Dallas", "TX", "752", "214"),
    ("Austin", "TX", "787", "512"), ("San Antonio", "TX", "782", "210"),
    ("Phoenix", "AZ", "850", "602"), ("Tucson", "AZ", "857", "520"),
    ("Philadelphia", "PA", "191", "215"), ("Pittsburgh", "PA", "152", "412"),
    ("Jacksonville", "FL", "322", "904"), ("Miami", "FL", "331", "305"),
    ("Tampa", "FL", "336", "813"), ("Orlando", "FL", "328", "407"),
    ("Columbus", "OH", "432", "614"), ("Cleveland", "OH", "441", "216"),
    ("Charlotte", "NC", "282", "704"), ("Raleigh", "NC", "276", "919"),
    ("Indianapolis", "IN", "462", "317"), ("Seattle", "WA", "981", "206"),
    ("Denver", "CO", "802", "303"), ("Boston", "MA", "021", "617"),
    ("Nashville", "TN", "372", "615"), ("Memphis", "TN", "381", "901"),
    ("Detroit", "MI", "482", "313"), ("Portland", "OR", "972", "503"),
    ("Las Vegas", "NV", "891", "702"), ("Atlanta", "GA", "303", "404"),
    ("Minneapolis", "MN", "554", "612"), ("New Orleans", "LA", "701", "504"),
    ("Kansas City", "MO", "641", "816"), ("Salt Lake City", "UT", "841", "801"),
)
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com", "example.com")
SALUTATIONS = ("Mr", "Ms", "Mrs", "Dr", "Mx")
TITLES = ("Owner", "Manager", "Director", "Engineer", "Teacher", "Nurse", "Analyst")
DEPARTMENTS = ("Collections", "Early Stage", "Late Stage", "Recovery", "Customer Care")
DESCRIPTIONS = (
    "Prefers contact after 5pm", "Hardship program inquiry", "Disputed charge in review",
    "Spanish speaking household", "Requested paper statements",
)
USERS = ("import", "apiSysAdmin", "jsmith", "mlopez", "batch_loader")
NOTE_TEXTS = (
    "Caller was hostile", "Do not accept check payments from this account.",
    "Promised to pay on Friday", "Requested a callback tomorrow morning",
    "Wrong number reported for phone 2", "Customer disputes the balance",
    "Left voicemail", "Payment arrangement set up", "Asked for written validation",
    "Customer is on active military duty", "Spoke with spouse; will relay message",
    "Hardship: recently unemployed", "Requested email contact only",
)
COMPANY_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
    "Tyrell", "Wonka", "Cyberdyne", "Gringotts", "Monarch", "Oceanic", "Pied Piper",
)
COMPANY_SUFFIXES = ("Holdings", "Industries", "Foods", "Logistics", "Partners", "Labs", "Group")
INDUSTRIES = ("Telecom Software", "Grocery", "Healthcare", "Retail", "Banking", "Utilities")
RATINGS = ("Hot", "Warm", "Cold")
OWNERSHIP = ("Private", "Public", "Subsidiary")
ACCOUNT_SOURCES = ("Advertisement", "Data.com", "Trade Show", "Referral", "Web")
CLASSIFICATIONS = ((171, "Bronze"), (172, "Gold"), (173, "Silver"))
ACCOUNT_TYPES = ((48, "Hospital"), (184, "Grocery"), (190, "Bank"), (201, "Retailer"))


class CustomFieldSeed(NamedTuple):
    field: str
    label: str
    data_type: str
    list_values: tuple[str, ...] = ()
    # for STRING fields: the values generated contacts draw from
    samples: tuple[str, ...] = ()


CUSTOM_FIELDS = (
    CustomFieldSeed("COL1", "Company", "STRING", samples=COMPANY_WORDS),
    CustomFieldSeed("COL2", "Score", "NUMBER"),
    CustomFieldSeed(
        "COL3", "Preferred Language", "LIST",
        ("English", "Spanish", "French", "Chinese", "Vietnamese"),
    ),
    CustomFieldSeed("COL4", "Last Payment Date", "DATE"),
    CustomFieldSeed("COL5", "Payment Plan", "BOOLEAN"),
    CustomFieldSeed("COL6", "Segment", "LIST", ("Gold", "Silver", "Bronze")),
    CustomFieldSeed("COL7", "Branch", "STRING", samples=("North", "South", "East", "West")),
    CustomFieldSeed(
        "COL8", "Phone 1 Status Description", "STRING",
        samples=("Valid", "Disconnected", "Wrong Party", "Unverified"),
    ),
    CustomFieldSeed("COL9", "Risk Tier", "LIST", ("Low", "Medium", "High")),
    CustomFieldSeed(
        "COL10", "Loan Type", "LIST", ("Auto", "Mortgage", "Personal", "Student", "Card"),
    ),
    CustomFieldSeed("COL11", "Days Past Due", "NUMBER"),
    CustomFieldSeed("COL12", "Last Agent", "STRING", samples=USERS),
    CustomFieldSeed("COL13", "Promise To Pay Date", "DATE"),
    CustomFieldSeed("COL14", "Promise Amount", "NUMBER"),
    CustomFieldSeed("COL15", "Best Time To Call", "LIST", ("Morning", "Afternoon", "Evening")),
    CustomFieldSeed("COL16", "Employer", "STRING", samples=COMPANY_WORDS),
    CustomFieldSeed("COL17", "Email Opt In", "BOOLEAN"),
    CustomFieldSeed("COL18", "Collector Code", "STRING", samples=("C01", "C02", "C07", "C11")),
    CustomFieldSeed("COL24", "Score Type", "NUMBER"),
    CustomFieldSeed(
        "COL25", "Last Agent Routing", "STRING", samples=("Skill A", "Skill B", "Overflow"),
    ),
)


class GroupSeed(NamedTuple):
    id: int
    name: str
    created_by: str
    # days before the generator's history end
    age_days: int


GROUPS = (
    GroupSeed(1120, "Old Group", "LiveVox\\Park, Peter", 1800),
    GroupSeed(2000, "Old Group-1", "Product Management\\Shaw, Anindita", 1500),
    GroupSeed(2200, "Client BOA", "Product Management\\Tokugawa, Arlan", 1300),
    GroupSeed(2201, "Early Stage", "Collections\\Rivera, Ana", 1100),
    GroupSeed(2202, "Late Stage", "Collections\\Rivera, Ana", 1100),
    GroupSeed(2203, "Recovery", "Collections\\Nguyen, Wei", 900),
    GroupSeed(2204, "Hardship", "Collections\\Nguyen, Wei", 700),
    GroupSeed(2205, "Medical", "Operations\\Okafor, Amara", 500),
    GroupSeed(2206, "Auto Loans", "Operations\\Okafor, Amara", 300),
    GroupSeed(2207, "Student Loans", "Operations\\Patel, Priya", 120),
)
