"""Graph: state model, LangGraph wiring, routing and stop rules of the refinement loop."""
