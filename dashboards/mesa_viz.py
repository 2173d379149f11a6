"""The Mesa engine driven by Mesa's own SolaraViz (``solara run dashboards/mesa_viz.py``).

A minimal page in Mesa's idiom, beside the full dashboard (dashboards/app.py):
members on the lattice coloured by strategy, DataCollector columns as curves.
SolaraViz rebuilds the model on Reset as ``MutualAidModel(**model_params)``:
the fixed entries below (scenario, lattice size) keep it the model first shown,
and the seed is a whole number from a slider (a text box would hand the model a
string, a different random stream than the integer).
"""

from mesa.visualization import Slider, SolaraViz, SpaceRenderer, make_plot_component
from mesa.visualization.components import AgentPortrayalStyle

from sim.engines.agents import MutualAidModel


def portrayal(member):
    return AgentPortrayalStyle(color="tab:blue" if member.is_helper else "tab:red", marker="s", size=30)


model_params = {
    "scenario": "kropotkin",
    "network_width": 30,
    "network_height": 30,
    "seed": Slider("Seed", value=1, min=0, max=100, step=1),
    "checkins_enabled": {"type": "Checkbox", "value": True, "label": "Check-ins"},
    "evolution_wellbeing_weight": Slider("Weight of wellbeing", value=1.0, min=0.0, max=3.0, step=0.1),
}
model = MutualAidModel("kropotkin", network_width=30, network_height=30, seed=1, checkins_enabled=True,
                       evolution_wellbeing_weight=1.0)
renderer = SpaceRenderer(model, backend="matplotlib").render(portrayal)
page = SolaraViz(model, renderer, components=[make_plot_component("helpers", backend="matplotlib"),
                                              make_plot_component("using", backend="matplotlib")],
                 model_params=model_params, name="Mutual aid (Mesa SolaraViz)")
