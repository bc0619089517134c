"""Multi-tenant cloud on the virtualized pool: scenarios, the hypervisor, allocation policies,
the static baselines and the paper's experiments (`fv cloud SCENARIO.toml`).

    scenario = load_scenario("scenarios/cnn-mix.toml")
    exp = run_experiment(scenario)          # pool + baselines + metrics
    exp.to_json()["gain"]

Modules: `scenario` (TOML), `library` (compiled models, cost curves, the memoised fast timing
mode), `policies` (public / private / manual / static / replay), `hypervisor` (the Machine's
level-1 map, DDR regions and real re-links), `simulate` (the request-level event loop and the
TDM baseline), `experiment` (metrics), `plots`.
"""

from fvir.cloud.experiment import Experiment, run_experiment
from fvir.cloud.scenario import Scenario, TenantSpec, load_scenario, scenario_from_dict

__all__ = ["Experiment", "Scenario", "TenantSpec", "load_scenario", "run_experiment",
           "scenario_from_dict"]
