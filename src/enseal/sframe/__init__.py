"""enseal.sframe"""
