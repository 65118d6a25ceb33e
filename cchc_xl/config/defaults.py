"""Names of the embedded configurations: plain data, importable without the configuration models
(the CLI's help text quotes the default)."""

SEED_CONFIGS = {   # the seeds' own regimes, each under a name that says what it is
    "lang-son-3-cap-2011-2020": "Tỉnh Lạng Sơn, ba cấp (tỉnh, huyện, xã), chương trình 2011-2020 (seed 000)",
    "thua-thien-hue-3-cap-2021": "Tỉnh Thừa Thiên Huế năm 2021, ba cấp, chương trình 2021-2030 (seed 002)",
}
DEFAULT_EMBEDDED = "lang-son-3-cap-2011-2020"   # the demo and a command run outside a workspace
WORKSPACE_FILE = "cchc.yaml"   # what makes a folder a workspace (its settings and secret key)
CACHE_DIR = ".cache"           # in a workspace: derived data only (parsed configuration, merge records),
                               # safe to delete at any time
