"""An import's flow: leads come in (leads/imports/), then their confirmation emails and, if chosen, the sequence."""
