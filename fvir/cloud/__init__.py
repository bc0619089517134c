"""Multi-tenant cloud on the virtualized pool: scenarios, the hypervisor, allocation policies,
the static baselines and the paper's experiments (`fv cloud SCENARIO.toml`).

    scenario = load_scenario("scenarios/cnn-mix.toml")
    exp = run_experiment(scenario)          # pool + baselines + metrics
    exp.to_json()["gain"]

Modules: `scenario` (TOML), `arrivals` (Poisson, Gamma, on/off, trace and Azure-layout
arrival processes), `library` (compiled models, cost curves, the memoised fast timing mode),
`policies` (public / private / goodput / manual / static / replay), `hypervisor` (the
Machine's level-1 map, DDR regions and real re-links), `requests` (a tenant's requests on
arrays, admission control and dropping), `results` (SLO attainment, goodput, latency
percentiles), `simulate` (what every design shares), `pool` (the pool's event loop), `tdm`
(the time-shared big core), `experiment` (metrics), `capacity` (the highest load within the
SLOs), `plots`.
"""

from fvir.cloud.experiment import Experiment, run_experiment
from fvir.cloud.scenario import Scenario, TenantSpec, load_scenario, scenario_from_dict

__all__ = ["Experiment", "Scenario", "TenantSpec", "load_scenario", "run_experiment",
           "scenario_from_dict"]
