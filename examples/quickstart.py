"""codemode as a library: register functions, show the model its stub, run a program.

Run: .venv/bin/python examples/quickstart.py
"""

from __future__ import annotations

from datetime import date

from codemode import CodeMode


def get_forecast(city: str, day: date) -> dict[str, float | str]:
    """Weather forecast for a city on a day.

    Args:
        city: City name, e.g. "Paris".
        day: The day, as YYYY-MM-DD.
    """
    temps = {"Paris": 11.5, "Oslo": -2.0, "Lima": 19.0}
    return {"city": city, "day": day.isoformat(), "temp_c": temps.get(city, 15.0)}


PROGRAM = """
cities = ["Paris", "Oslo", "Lima"]
forecasts = [weather.get_forecast(city=c, day="2026-11-22") for c in cities]
coldest = min(forecasts, key=lambda f: f["temp_c"])
print(f"checked {len(forecasts)} cities")
{"coldest": coldest["city"], "temp_c": coldest["temp_c"]}
"""


def main() -> None:
    with CodeMode() as cm:
        cm.add_function(get_forecast, namespace="weather")
        print(cm.stubs("weather"))
        result = cm.execute(PROGRAM)
        print(result.stdout, end="")
        print(result.result)  # {'coldest': 'Oslo', 'temp_c': -2.0}
        print(f"{len(result.tool_calls)} tool calls in {result.duration_ms:.1f} ms")


if __name__ == "__main__":
    main()
