"""`python -m bench` (what `make bench` runs): measure, then write bench/results/."""

from bench import report
from bench.run import Settings, run_bench


def main() -> None:
    settings = Settings.from_environment()
    result = run_bench(settings)
    paths = report.write(result, settings.results)
    print(report.markdown(result))
    print("written:", ", ".join(str(path) for path in paths.values()))


if __name__ == "__main__":
    main()
